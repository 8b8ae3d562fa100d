/**
 * The rule for the artifact references of a `DelegateRequest`: each `uri` must be
 * a link the mesh signed, unexpired, scoped to this task or to a task on its
 * chain (the task itself, or one it was delegated from), and the reference's
 * digest, size and media type must be the link's.
 */
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { MeshCall } from "../call.js";
import { chainProofKey, hopTokenKey } from "../context-keys.js";
import type { HopClaims } from "../chain/hop-token.js";
import { invalidArgument } from "../errors.js";
import { ArtifactLinkError } from "./artifact-link-error.js";
import type { ArtifactLinkVerifier } from "./artifact-link-verifier.js";

/** Checks a request's artifact references; throws a `ConnectError` when one is not acceptable. */
export type ArtifactRefCheck = (req: DelegateRequest, call: MeshCall) => void;

/** The task ids on a proven chain: the tasks it was delegated from, and its own. */
export function chainTaskIds(hop: HopClaims): string[] {
  return [...hop.chain.hops.map((h) => h.taskId), hop.taskId];
}

/**
 * Creates the check the Delegate validator runs. The chain comes from what the
 * authentication step verified: the proof of a sub-delegation (`chainProofKey`)
 * or the gateway's hop token of a forwarded task (`hopTokenKey`).
 *
 * Throws INVALID_ARGUMENT (reason `artifact_invalid`) with one violation per bad
 * field: `artifacts[i].uri` (not a mesh link, expired, or scoped to a task off
 * this task's chain), `.digest`, `.size_bytes`, `.media_type` (not the link's).
 */
export function createArtifactRefCheck(links: ArtifactLinkVerifier): ArtifactRefCheck {
  return (req, call) => {
    if (req.artifacts.length === 0) return;
    const proven = call.values.get(chainProofKey) ?? call.values.get(hopTokenKey)?.claims;
    const scope = new Set([req.taskId, ...(proven === undefined ? [] : chainTaskIds(proven))]);
    const violations: { field: string; description: string }[] = [];
    req.artifacts.forEach((ref, i) => {
      const field = `artifacts[${i}]`;
      let link;
      try {
        link = links.verifyUri(ref.uri);
      } catch (err) {
        if (!(err instanceof ArtifactLinkError)) throw err;
        violations.push({ field: `${field}.uri`, description: `${err.reason}: ${err.message}` });
        return;
      }
      if (!scope.has(link.taskId)) {
        violations.push({ field: `${field}.uri`, description: `link_out_of_scope: the link is scoped to task ${link.taskId}, which is not task ${req.taskId} nor on its chain` });
      }
      if (ref.digest !== link.digest) violations.push({ field: `${field}.digest`, description: `must be the link's digest ${link.digest}` });
      if (ref.sizeBytes !== BigInt(link.size)) violations.push({ field: `${field}.size_bytes`, description: `must be the link's size ${link.size}` });
      if (ref.mediaType !== "" && ref.mediaType !== link.mediaType) violations.push({ field: `${field}.media_type`, description: `must be the link's media type ${link.mediaType} (or empty)` });
    });
    if (violations.length > 0) {
      throw invalidArgument(`invalid artifact references: ${violations.map((v) => `${v.field} ${v.description}`).join("; ")}`, "artifact_invalid", violations);
    }
  };
}
