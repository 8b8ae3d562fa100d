/**
 * Thrown when a task id was already published with different content: the outbox
 * keeps the first version and never overwrites it. Retrying cannot help; publish
 * under a new task id instead.
 */
export class PublishConflictError extends Error {
  override readonly name = "PublishConflictError";
  /** Retrying with the same task id fails the same way. */
  readonly retryable = false;

  constructor(
    readonly taskId: string,
    readonly path: string,
    readonly existingDigest: string,
    readonly attemptedDigest: string,
  ) {
    super(
      `task ${JSON.stringify(taskId)} was already published with different content ` +
        `(${path} holds ${existingDigest}, this publish would write ${attemptedDigest})`,
    );
  }
}
