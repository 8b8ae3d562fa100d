import { englishStopwords } from "./stopwords.js";

/** Longest token kept as a term; longer ones are URLs, hashes or ids, not topics. */
export const MAX_TERM_LENGTH = 40;

// Words with inner apostrophes or hyphens stay whole ("don't", "e-mail").
const TOKEN = /[\p{L}\p{N}]+(?:['’\-.][\p{L}\p{N}]+)*/gu;

/**
 * Extracts the scorable terms of a sentence, in order and with repetitions:
 * lower-cased word tokens that are not stopwords, not pure numbers, at least two
 * characters and at most {@link MAX_TERM_LENGTH} long. Curly apostrophes are
 * normalised to "'" so "don’t" meets the stopword "don't"; a possessive "'s" is dropped.
 */
export function extractTerms(sentence: string): string[] {
  const terms: string[] = [];
  for (const match of sentence.toLowerCase().matchAll(TOKEN)) {
    // A possessive counts as its noun: "Acme's" weighs with "Acme".
    const token = match[0].replaceAll("’", "'").replace(/'s$/u, "");
    if (token.length < 2 || token.length > MAX_TERM_LENGTH) continue;
    if (/^[\p{N}.]+$/u.test(token) || englishStopwords.has(token)) continue;
    terms.push(token);
  }
  return terms;
}
