/**
 * Who may write into a task's scope and who may read through a link.
 *
 * - Fetch: a link scoped to task T may be fetched by T's owner (the caller that
 *   delegated T), by whoever uploaded the artifact, and by any agent running T
 *   or a task delegated from T: its proof (the gateway's hop token of the task it
 *   runs, in `agentmesh-chain`) shows T on its chain.
 * - Upload into T: an agent whose proof shows T on its chain; T's owner; or, for
 *   a task no gateway has seen yet, a caller that may start a chain (not an
 *   agent: an agent acts only within the tasks it was given), who is about to
 *   delegate T with the reference. The first such upload reserves T for its
 *   caller in the shared store (`artifact-owner/<T>`, create-if-absent), so no
 *   other caller may upload into T until it exists, and then only its owner.
 *
 * T's owner is the local task journal's, else the shared task record's
 * (`result/<T>` in the backend KV), so every gateway replica, and a gateway that
 * restarted, answers alike.
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
import { readSharedRecord } from "../queue/queued-task.js";
import type { KvStore } from "../queue/queue-types.js";

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
  /** The subject that delegated a task; undefined for a task no gateway has seen (see `sharedTaskOwnership`). */
  readonly taskOwner: (taskId: string) => string | undefined | Promise<string | undefined>;
  /**
   * Reserves a task no one owns yet for `subject`, unless someone holds it
   * already; resolves to the subject that holds it (see `sharedTaskOwnership`).
   */
  readonly reserveTask: (taskId: string, subject: string) => Promise<string>;
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
  /** Rejects with PERMISSION_DENIED (`task_out_of_scope`) unless `caller` may upload into task `taskId`. */
  assertMayUpload(caller: ArtifactCaller, taskId: string): Promise<void>;
  /** Rejects with `ArtifactLinkError` (`link_out_of_scope`) unless `caller` may fetch through `link`. */
  assertMayFetch(caller: ArtifactCaller, link: ArtifactLinkClaims): Promise<void>;
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
    async assertMayUpload(caller, taskId) {
      if (caller.chainTasks.has(taskId)) return;
      const subject = caller.identity.subject;
      const owner = await options.taskOwner(taskId);
      if (owner === subject) return;
      let why = "it was delegated by someone else, and your chain does not include it";
      if (owner === undefined) {
        if (isAgent(caller.identity)) {
          why = `an agent uploads only into the tasks it runs or was delegated from: send the gateway's token of your task in the ${chainHeader} header`;
        } else {
          if ((await options.reserveTask(taskId, subject)) === subject) return;
          why = "another caller uploaded into it first: use a task id of your own";
        }
      }
      throw meshError(Code.PermissionDenied, `${subject} may not upload into task ${taskId}: ${why}`, {
        reason: "task_out_of_scope",
        metadata: { task_id: taskId },
      });
    },
    async assertMayFetch(caller, link) {
      const subject = caller.identity.subject;
      if (caller.chainTasks.has(link.taskId) || subject === link.uploader || subject === (await options.taskOwner(link.taskId))) return;
      throw new ArtifactLinkError("link_out_of_scope", `the link is scoped to task ${link.taskId}: only its owner and the agents on its chain may fetch it, and ${subject} is neither${caller.chainTasks.size === 0 ? ` (an agent sends the gateway's token of its task in the ${chainHeader} header)` : ""}`);
    },
  };
}

/** Key of the record that reserves a task no one owns yet for the caller that first uploaded into it. */
export function artifactOwnerKey(taskId: string): string {
  return `artifact-owner/${taskId}`;
}

/**
 * `taskOwner` and `reserveTask` over the backend's shared store: the owner is
 * `localOwner`'s (the gateway's task journal), else the shared task record's
 * (`result/<T>`); a reservation is an `artifact-owner/<T>` record written only
 * when absent, so of two callers racing for T on any gateways one wins.
 */
export function sharedTaskOwnership(kv: KvStore, localOwner: (taskId: string) => string | undefined): Pick<ArtifactAccessOptions, "taskOwner" | "reserveTask"> {
  return {
    async taskOwner(taskId) {
      return localOwner(taskId) ?? (await readSharedRecord(kv, taskId))?.record.owner;
    },
    async reserveTask(taskId, subject) {
      const key = artifactOwnerKey(taskId);
      // A reservation deleted between the two reads is written again by the next try.
      for (let attempt = 0; attempt < 2; attempt++) {
        if ((await kv.create(key, new TextEncoder().encode(JSON.stringify({ owner: subject })))) !== undefined) return subject;
        const held = await kv.get(key);
        if (held !== undefined) return (JSON.parse(new TextDecoder().decode(held.value)) as { owner: string }).owner;
      }
      return "";
    },
  };
}
