/**
 * Thrown when a CSV cannot be segmented at all: no header row, or a header that is
 * unreadable, has an empty column name or names a column twice. Row-level problems
 * never throw; they reject the row. Sending the same CSV again cannot help.
 */
export class CsvFormatError extends Error {
  override readonly name = "CsvFormatError";
  /** Retrying with the same input fails the same way. */
  readonly retryable = false;
}
