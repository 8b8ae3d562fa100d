/**
 * Who may write into a task's scope and who may read through a link.
 *
 * - Fetch: a link scoped to task T may be fetched by T's owner (the caller that
 *   delegated T), by whoever uploaded the artifact, and by any agent running T
 *   or a task delegated from T: its proof (the gateway's hop token of the task it
 *   runs, in `agentmesh-chain`) shows T on its chain.
 * - Upload into T: an agent whose proof shows T on its chain; T's owner; or, for
 *   a task the gateway has not seen yet, a caller that may start a chain (not an
 *   agent: an agent acts only within the tasks it was given), who is about to
 *   delegate T with the reference.
 *
 * The caller comes from its bearer token and the chain from the proof, verified
 * exactly as for a sub-delegation (chain/chain-proof.ts); nothing is taken from
 * the request otherwise.
 */
import { Code } from "@connectrpc/connect";
import type { Identity } from "../auth/identity.js";
import type { TokenVerifier } from "../auth/tokens.js";
import { verifyChainProof } from "../chain/chain-proof.js";
import { chainHeader } from "../chain/delegation-chain.js";
import { meshError } from "../errors.js";
import { ArtifactLinkError } from "./artifact-link-error.js";
import type { ArtifactLinkClaims } from "./artifact-link.js";
import { chainTaskIds } from "./artifact-ref-check.js";

/** An authenticated caller of the artifact endpoint. */
export interface ArtifactCaller {
  readonly identity: Identity;
  /** The tasks its proof shows it runs or was delegated from; empty without a proof. */
  readonly chainTasks: ReadonlySet<string>;
}

/** Options of `createArtifactAccess`. */
export interface ArtifactAccessOptions {
  /** The gateway's verifier: bearer tokens and chain proofs. */
  readonly verifier: TokenVerifier;
  /** The subject that delegated a task the gateway knows; undefined for a task it has not seen. */
  readonly taskOwner: (taskId: string) => string | undefined;
  /** True for subjects that are agents of the mesh (they must prove a chain); role worker always is one. */
  readonly isAgent: (subject: string) => boolean;
}

/** The access rules of the artifact endpoint; see `createArtifactAccess`. */
export interface ArtifactAccess {
  /**
   * The caller of a request with these headers. Throws UNAUTHENTICATED
   * (`token_missing`, `token_invalid`, `token_expired`, `chain_invalid`).
   */
  authenticate(header: (name: string) => string | undefined): Promise<ArtifactCaller>;
  /** Throws PERMISSION_DENIED (`task_out_of_scope`) unless `caller` may upload into task `taskId`. */
  assertMayUpload(caller: ArtifactCaller, taskId: string): void;
  /** Throws `ArtifactLinkError` (`link_out_of_scope`) unless `caller` may fetch through `link`. */
  assertMayFetch(caller: ArtifactCaller, link: ArtifactLinkClaims): void;
}

/** Creates the rules described above. */
export function createArtifactAccess(options: ArtifactAccessOptions): ArtifactAccess {
  const isAgent = (identity: Identity) => identity.role === "worker" || options.isAgent(identity.subject);
  return {
    async authenticate(header) {
      const { claims: _own, ...identity } = await options.verifier(header("authorization") ?? null);
      const proof = header(chainHeader);
      const chainTasks = proof === undefined || proof === "" ? [] : chainTaskIds(await verifyChainProof(options.verifier, proof, identity.subject));
      return { identity, chainTasks: new Set(chainTasks) };
    },
    assertMayUpload(caller, taskId) {
      if (caller.chainTasks.has(taskId)) return;
      const owner = options.taskOwner(taskId);
      if (owner === caller.identity.subject) return;
      if (owner === undefined && !isAgent(caller.identity)) return;
      const why = owner === undefined
        ? `an agent uploads only into the tasks it runs or was delegated from: send the gateway's token of your task in the ${chainHeader} header`
        : "it was delegated by someone else, and your chain does not include it";
      throw meshError(Code.PermissionDenied, `${caller.identity.subject} may not upload into task ${taskId}: ${why}`, {
        reason: "task_out_of_scope",
        metadata: { task_id: taskId },
      });
    },
    assertMayFetch(caller, link) {
      const subject = caller.identity.subject;
      if (caller.chainTasks.has(link.taskId) || subject === link.uploader || subject === options.taskOwner(link.taskId)) return;
      throw new ArtifactLinkError("link_out_of_scope", `the link is scoped to task ${link.taskId}: only its owner and the agents on its chain may fetch it, and ${subject} is neither${caller.chainTasks.size === 0 ? ` (an agent sends the gateway's token of its task in the ${chainHeader} header)` : ""}`);
    },
  };
}
