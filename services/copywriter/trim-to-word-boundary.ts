const ELLIPSIS = "…";

/**
 * Shortens text to at most `maxLength` code points, ending at a word boundary with
 * "…" (which counts toward the limit). Trailing commas, colons, semicolons and
 * dashes before the cut are dropped. Text that already fits is returned unchanged;
 * a single word longer than the limit is cut inside the word. Returns "" for a
 * limit below 1.
 */
export function trimToWordBoundary(text: string, maxLength: number): string {
  const points = [...text];
  if (points.length <= maxLength) return text;
  if (maxLength < 1) return "";
  const kept = points.slice(0, maxLength - 1);
  // If the first dropped character is whitespace, the kept text already ends a word.
  if (!/\s/u.test(points[maxLength - 1] ?? "")) {
    const lastSpace = kept.findLastIndex((point) => /\s/u.test(point));
    if (lastSpace > 0) kept.length = lastSpace;
  }
  return kept.join("").replace(/[\s,;:\-–—]+$/u, "") + ELLIPSIS;
}
