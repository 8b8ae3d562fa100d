/**
 * What goes wrong with a policy. Neither is helped by retrying the same call: a
 * bundle that does not load stays broken until a new one is built, and a decision
 * of the wrong shape is a bug in the Rego.
 */

/** A policy bundle could not be read, compiled or initialised; the service does not start on it. */
export class PolicyBundleError extends Error {
  override readonly name = "PolicyBundleError";
  /** Loading the same files again fails again. */
  readonly nonRetryable = true;
}

/**
 * An evaluation failed or returned something that is not a decision of the
 * contract's shape. The policy step refuses the call with INTERNAL (`policy_error`).
 */
export class PolicyEvaluationError extends Error {
  override readonly name = "PolicyEvaluationError";
  /** The same input gives the same failure. */
  readonly nonRetryable = true;
}

/** The SDK throws strings; turns whatever it threw into an `Error` message. */
export function thrownMessage(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
