/**
 * What goes wrong in a queue backend, shared by both adapters so that callers (and
 * the conformance suite) recognise the same failure whichever engine runs.
 */

/** `ArtifactStore.put` was given more bytes than its `maxBytes`; nothing was stored. */
export class ArtifactTooLargeError extends Error {
  override readonly name = "ArtifactTooLargeError";
  /** The same bytes are refused again. */
  readonly nonRetryable = true;

  constructor(readonly maxBytes: number) {
    super(`artifact larger than ${maxBytes} bytes refused`);
  }
}

/** Stored artifact bytes no longer match their recorded digest (corruption on disk or in the engine). */
export class ArtifactDigestError extends Error {
  override readonly name = "ArtifactDigestError";
  /** Reading the same bytes again gives the same digest. */
  readonly nonRetryable = true;

  constructor(
    readonly id: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`artifact ${id}: digest ${actual} does not match the recorded ${expected}`);
  }
}

/** A subject that is not `[a-z0-9_.-]+` in dot-separated, non-empty tokens. */
export class InvalidSubjectError extends Error {
  override readonly name = "InvalidSubjectError";
  /** The same subject is refused again. */
  readonly nonRetryable = true;

  constructor(readonly subject: string) {
    super(`invalid queue subject ${JSON.stringify(subject)}: expected dot-separated tokens of [a-z0-9_-]`);
  }
}

/** A KV key that is not 1–256 printable ASCII characters. */
export class InvalidKeyError extends Error {
  override readonly name = "InvalidKeyError";
  /** The same key is refused again. */
  readonly nonRetryable = true;

  constructor(readonly key: string) {
    super(`invalid KV key ${JSON.stringify(key.slice(0, 300))}: expected 1-256 printable ASCII characters`);
  }
}

/** True when `key` is 1–256 printable ASCII characters (space to "~"). */
export function isValidKey(key: string): boolean {
  return /^[\x20-\x7e]{1,256}$/.test(key);
}

/**
 * The reason recorded for an attempt whose consumer neither acked, nak'ed nor
 * called `working()` within the ack wait (it died or hung). Both adapters record
 * exactly this text, so the conformance suite compares it.
 */
export function consumerLostReason(ackWaitMs: number): string {
  return `consumer lost: no ack within ${ackWaitMs} ms`;
}

/** True when `subject` is dot-separated tokens of `[a-z0-9_-]` (which also rules out "." and ".."). */
export function isValidSubject(subject: string): boolean {
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(subject);
}
