// The `docs.summarize` contract: what the registry advertises and what the mesh
// validates inputs and outputs against (JSON Schema draft 2020-12).
import { MAX_TERM_LENGTH } from "./extract-terms.js";
import { MAX_SENTENCE_LENGTH } from "./split-sentences.js";

/** Intent name served by the summarizer. */
export const summarizeIntent = "docs.summarize";

/** One-line description for the agent card. */
export const summarizeDescription =
  "Extractive summary of one or more documents: the highest-scoring sentences by " +
  "normalised term frequency, in original order, with the key terms.";

/** Most documents one task may summarise. */
export const MAX_DOCUMENTS = 50;
/** Most sentences a summary may ask for. */
export const MAX_SUMMARY_SENTENCES = 20;
/** Sentences kept when `maxSentences` is not given. */
export const DEFAULT_SUMMARY_SENTENCES = 3;
/** Most key terms reported. */
export const KEY_TERM_COUNT = 8;

/** One document to summarise. */
export interface SummarizeDocument {
  title: string;
  text: string;
}

/**
 * Inputs of `docs.summarize`. The documents come inline, or as the task's
 * artifacts (read by signed link: `readDocuments`) when `documents` is absent.
 */
export interface SummarizeInputs {
  documents: SummarizeDocument[];
  /** 1..20, default {@link DEFAULT_SUMMARY_SENTENCES}. */
  maxSentences?: number;
}

/** One sentence kept in the summary. */
export interface SummarySentence {
  /** Index of the source document in `inputs.documents`. */
  documentIndex: number;
  text: string;
  /** Mean normalised term weight, 0..1. */
  score: number;
}

/** Outputs of `docs.summarize`. */
export interface SummarizeOutputs {
  /** The kept sentences joined by single spaces. */
  summary: string;
  /** Up to 8 terms, highest weight first. */
  keyTerms: string[];
  /** The kept sentences, in document then text order. */
  sentences: SummarySentence[];
}

/** JSON Schema of the documents, inline or in a `{"documents": [...]}` artifact. */
export const summarizeDocumentsSchema: Record<string, unknown> = {
  type: "array",
  minItems: 1,
  maxItems: MAX_DOCUMENTS,
  items: {
    type: "object",
    additionalProperties: false,
    required: ["title", "text"],
    properties: {
      title: { type: "string", maxLength: 300 },
      text: { type: "string", maxLength: 100_000 },
    },
  },
};

/** JSON Schema of {@link SummarizeInputs}; without `documents`, the task's artifacts are the documents. */
export const summarizeInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "docs.summarize inputs",
  type: "object",
  additionalProperties: false,
  properties: {
    documents: summarizeDocumentsSchema,
    maxSentences: {
      type: "integer",
      minimum: 1,
      maximum: MAX_SUMMARY_SENTENCES,
      default: DEFAULT_SUMMARY_SENTENCES,
    },
  },
};

/** JSON Schema of {@link SummarizeOutputs}. */
export const summarizeOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "docs.summarize outputs",
  type: "object",
  additionalProperties: false,
  required: ["summary", "keyTerms", "sentences"],
  properties: {
    summary: { type: "string", maxLength: MAX_SUMMARY_SENTENCES * (MAX_SENTENCE_LENGTH + 1) },
    keyTerms: {
      type: "array",
      maxItems: KEY_TERM_COUNT,
      items: { type: "string", minLength: 2, maxLength: MAX_TERM_LENGTH },
    },
    sentences: {
      type: "array",
      maxItems: MAX_SUMMARY_SENTENCES,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["documentIndex", "text", "score"],
        properties: {
          documentIndex: { type: "integer", minimum: 0, maximum: MAX_DOCUMENTS - 1 },
          text: { type: "string", minLength: 1, maxLength: MAX_SENTENCE_LENGTH },
          score: { type: "number", minimum: 0, maximum: 1 },
        },
      },
    },
  },
};
