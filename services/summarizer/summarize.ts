import type { ToolRunner } from "../../mesh/index.js";
import type { WorkEvidence, WorkOutcome } from "../shared/tool-result.js";
import { extractTerms } from "./extract-terms.js";
import {
  DEFAULT_SUMMARY_SENTENCES,
  KEY_TERM_COUNT,
  MAX_SUMMARY_SENTENCES,
  type SummarizeInputs,
  type SummarizeOutputs,
  type SummarySentence,
} from "./intent.js";
import { rankSentences } from "./rank-sentences.js";
import { splitSentences } from "./split-sentences.js";
import { computeTermWeights } from "./term-weights.js";

interface Candidate extends SummarySentence {
  /** Position of the sentence within its document, 0-based. */
  position: number;
}

/**
 * Handles `docs.summarize`: splits each document into sentences
 * (`text.split-sentences`, once per document), weighs terms by normalised frequency
 * over all documents, scores each document's sentences (`text.rank-sentences`, once
 * per document), keeps the `maxSentences` best (ties to the earlier sentence;
 * sentences scoring 0 are never kept) and returns them in reading order.
 *
 * Confidence is the share of key-term weight the summary covers:
 * `Σ w(t) over key terms t found in a kept sentence / Σ w(t) over all key terms`,
 * rounded to 4 decimals, where the key terms are the 8 heaviest and `w` is the
 * normalised frequency. It is 0 when the documents have no scorable term.
 * The tool calls run through `tool`.
 *
 * @throws RangeError when `maxSentences` is not an integer from 1 to 20.
 */
export function summarize(inputs: SummarizeInputs, tool: ToolRunner): WorkOutcome<SummarizeOutputs> {
  const maxSentences = inputs.maxSentences ?? DEFAULT_SUMMARY_SENTENCES;
  if (!Number.isInteger(maxSentences) || maxSentences < 1 || maxSentences > MAX_SUMMARY_SENTENCES) {
    throw new RangeError(`maxSentences must be an integer from 1 to ${MAX_SUMMARY_SENTENCES}, got ${maxSentences}`);
  }
  const split = inputs.documents.map((document) => tool("text.split-sentences", () => splitSentences(document.text)));
  const weights = computeTermWeights(split.flat());

  const candidates: Candidate[] = [];
  split.forEach((sentences, documentIndex) => {
    const scores = tool("text.rank-sentences", () => rankSentences(sentences, weights));
    sentences.forEach((text, position) => {
      candidates.push({ documentIndex, text, score: scores[position] ?? 0, position });
    });
  });
  // Candidates are in reading order and the sort is stable, so ties keep the earlier sentence.
  const kept = candidates
    .filter((candidate) => candidate.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, maxSentences)
    .sort((a, b) => a.documentIndex - b.documentIndex || a.position - b.position);

  const keyTerms = [...weights.keys()].slice(0, KEY_TERM_COUNT);
  const confidence = keyTermCoverage(keyTerms, weights, kept);
  const evidence: WorkEvidence[] = kept.map((sentence) => ({
    kind: "source_sentence",
    description:
      `Sentence ${sentence.position + 1} of document ${sentence.documentIndex} ` +
      `(${JSON.stringify(inputs.documents[sentence.documentIndex]?.title ?? "")}), score ${sentence.score}`,
    excerpt: sentence.text,
  }));

  return {
    outputs: {
      summary: kept.map((sentence) => sentence.text).join(" "),
      keyTerms,
      sentences: kept.map(({ documentIndex, text, score }) => ({ documentIndex, text, score })),
    },
    rationale: explain(inputs.documents.length, candidates.length, weights.size, kept.length, keyTerms, confidence),
    evidence,
    confidence,
  };
}

function keyTermCoverage(
  keyTerms: readonly string[],
  weights: ReadonlyMap<string, number>,
  kept: readonly Candidate[],
): number {
  const keptTerms = new Set(kept.flatMap((sentence) => extractTerms(sentence.text)));
  let total = 0;
  let covered = 0;
  for (const term of keyTerms) {
    const weight = weights.get(term) ?? 0;
    total += weight;
    if (keptTerms.has(term)) covered += weight;
  }
  return total === 0 ? 0 : Math.round((covered / total) * 10_000) / 10_000;
}

function explain(
  documents: number,
  sentences: number,
  terms: number,
  kept: number,
  keyTerms: readonly string[],
  confidence: number,
): string {
  const scope = `Split ${plural(documents, "document")} into ${plural(sentences, "sentence")}`;
  if (kept === 0) return `${scope}; no sentence has a scorable term, so the summary is empty.`;
  return (
    `${scope} and weighted ${plural(terms, "non-stopword term")} by normalised frequency; ` +
    `kept the ${plural(kept, "highest-scoring sentence")} (mean term weight) in original order. ` +
    `Key terms: ${keyTerms.join(", ")}. The kept sentences cover ${Math.round(confidence * 100)}% ` +
    `of the key-term weight.`
  );
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
