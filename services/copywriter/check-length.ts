// The `text.check-length` tool. Lengths are counted in Unicode code points, the unit
// JSON Schema's maxLength and social networks' limits use, so an emoji counts once.

/** What a length check found. */
export interface LengthCheck {
  /** Code points in all parts together. */
  length: number;
  maxLength: number;
  within: boolean;
  /** Code points over the limit; 0 when within. */
  overBy: number;
}

/** Counts the code points of a string. */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** Checks that the parts of a copy (separators not counted) fit in `maxLength` code points. */
export function checkLength(parts: readonly string[], maxLength: number): LengthCheck {
  const length = parts.reduce((sum, part) => sum + codePointLength(part), 0);
  return { length, maxLength, within: length <= maxLength, overBy: Math.max(0, length - maxLength) };
}
