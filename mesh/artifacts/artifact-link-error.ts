/**
 * Why a signed artifact link is refused. The HTTP endpoint answers each reason
 * with its status and a JSON body `{"error": {"reason", "message"}}`; the Delegate
 * validator turns it into a field violation.
 */

/** Machine-readable reasons a link is refused. */
export type ArtifactLinkReason =
  /** No link in the request (the `link` query parameter). */
  | "link_missing"
  /** Not a link the mesh signed: bad signature, altered claim, unknown key, malformed. */
  | "link_invalid"
  /** A link the mesh signed, past its expiry. */
  | "link_expired"
  /** A valid link, but the caller is neither the task's owner nor on its chain. */
  | "link_out_of_scope";

/** A link that cannot be used; `reason` says why. Retrying with the same link fails again. */
export class ArtifactLinkError extends Error {
  override readonly name = "ArtifactLinkError";
  /** The same link is refused again: only a new link (or other credentials) helps. */
  readonly nonRetryable = true;

  constructor(readonly reason: ArtifactLinkReason, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
