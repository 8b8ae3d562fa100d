/** A withdrawal of a campaign draft that is not on record. */
export class DraftNotFoundError extends Error {
  override readonly name = "DraftNotFoundError";
  /** The draft does not appear by trying again. */
  readonly nonRetryable = true;
  constructor(readonly draftId: string) {
    super(`no campaign draft ${draftId} on record`);
  }
}
