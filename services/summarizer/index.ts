// Public API of the summarizer worker: the `docs.summarize` contract and its tools.
export { summarize } from "./summarize.js";
export { splitSentences, MAX_SENTENCE_LENGTH } from "./split-sentences.js";
export { rankSentences } from "./rank-sentences.js";
export { computeTermWeights, type TermWeights } from "./term-weights.js";
export { extractTerms, MAX_TERM_LENGTH } from "./extract-terms.js";
export { englishStopwords } from "./stopwords.js";
export {
  summarizeIntent,
  summarizeDescription,
  summarizeInputSchema,
  summarizeOutputSchema,
  DEFAULT_SUMMARY_SENTENCES,
  KEY_TERM_COUNT,
  MAX_DOCUMENTS,
  MAX_SUMMARY_SENTENCES,
  type SummarizeInputs,
  type SummarizeOutputs,
  type SummarySentence,
} from "./intent.js";
