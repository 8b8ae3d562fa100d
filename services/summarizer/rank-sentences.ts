import { extractTerms } from "./extract-terms.js";
import type { TermWeights } from "./term-weights.js";

/**
 * The `text.rank-sentences` tool: scores each sentence as the mean weight of its
 * terms (see {@link computeTermWeights}), rounded to 4 decimals, so a sentence is
 * ranked by how topical its words are rather than by its length. A sentence with
 * no scorable term scores 0. Returns one score per sentence, in input order.
 */
export function rankSentences(sentences: readonly string[], weights: TermWeights): number[] {
  return sentences.map((sentence) => {
    const terms = extractTerms(sentence);
    if (terms.length === 0) return 0;
    const total = terms.reduce((sum, term) => sum + (weights.get(term) ?? 0), 0);
    return Math.round((total / terms.length) * 10_000) / 10_000;
  });
}
