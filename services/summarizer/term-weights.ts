import { extractTerms } from "./extract-terms.js";

/** Normalised term frequencies: each term's count divided by the top term's count. */
export type TermWeights = ReadonlyMap<string, number>;

/**
 * Weighs every term of the given sentences by normalised frequency: count / highest
 * count, so the most frequent term weighs 1. The map is ordered by weight, highest
 * first, ties in order of first appearance (so a caller's top-k is deterministic).
 * Returns an empty map when no sentence has a term.
 */
export function computeTermWeights(sentences: readonly string[]): TermWeights {
  const counts = new Map<string, number>();
  for (const sentence of sentences) {
    for (const term of extractTerms(sentence)) counts.set(term, (counts.get(term) ?? 0) + 1);
  }
  const top = Math.max(0, ...counts.values());
  // Array.prototype.sort is stable, so equal counts keep first-appearance order.
  const ordered = [...counts].sort((a, b) => b[1] - a[1]);
  return new Map(ordered.map(([term, count]) => [term, count / top]));
}
