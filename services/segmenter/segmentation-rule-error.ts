/** What is wrong with a rule. */
export type SegmentationRuleProblem = "unknown_column" | "value_shape";

/**
 * Thrown when a rule cannot be evaluated against the CSV: a condition names a column
 * the header lacks, or gives `in` a scalar (or another operator a list). The message
 * names the 0-based rule index and the column; the same fields are kept as properties
 * for a machine-readable error detail. Retrying with the same rules cannot help.
 */
export class SegmentationRuleError extends Error {
  override readonly name = "SegmentationRuleError";
  /** Retrying with the same input fails the same way. */
  readonly retryable = false;

  constructor(
    message: string,
    readonly ruleIndex: number,
    readonly column: string,
    readonly problem: SegmentationRuleProblem,
  ) {
    super(message);
  }
}
