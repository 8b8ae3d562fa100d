/**
 * Thrown when an outbox file read back after writing does not hold what was
 * written (something else changed it, or the storage is failing). Needs an
 * operator, not a retry.
 */
export class PublishVerificationError extends Error {
  override readonly name = "PublishVerificationError";
  /** A retry would find the same file. */
  readonly retryable = false;

  constructor(
    readonly path: string,
    readonly expectedDigest: string,
    readonly actualDigest: string,
  ) {
    super(`outbox file ${path} reads back as ${actualDigest}, expected ${expectedDigest}`);
  }
}
