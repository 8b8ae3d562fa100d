/**
 * The gateway's hop token: the bearer token the gateway mints for each Delegate it
 * forwards, bound to the target agent (audience "agentmesh:<agent>", role
 * gateway) and carrying, signed, what the task runs under:
 *
 *   chain     the hops and budget (`ChainJson`) the gateway admitted the task with
 *   task      the id of the task it forwards
 *   intent    that task's intent
 *   approval  optional `{id, approver, digest}`: the human approval the gateway
 *             ran the task under
 *
 * The agent trusts the chain of a forwarded task only from these claims, and when
 * its handler delegates onward, the runtime sends the token back to the gateway
 * as the proof of the task's chain (chain-proof.ts). So neither a caller nor a
 * handler can forge or shorten a chain: only the gateway signs one.
 *
 * Lifetime: until the forwarded task's deadline, capped at one hour (an hour when
 * the task has none). The token is also the proof of the task's sub-delegations,
 * so it must last as long as the task may run; a task that runs past the cap can
 * no longer delegate. A hop token authorizes nothing but the Delegate of its own
 * task (authenticate.ts), so the longer life lends a leaked token no more power.
 */
import { Code } from "@connectrpc/connect";
import { agentAudience, issueToken } from "../auth/tokens.js";
import type { SigningKey } from "../auth/keys.js";
import type { GrantedApproval } from "../context-keys.js";
import { meshError } from "../errors.js";
import { chainFromJson, chainToJson } from "./delegation-chain.js";
import type { DelegationChain } from "./delegation-chain.js";

/** What a hop token says about the task it forwards. */
export interface HopClaims {
  /** The chain the task runs under, its budget included. */
  readonly chain: DelegationChain;
  readonly taskId: string;
  readonly intent: string;
  /** The approval the gateway ran the task under, if any. */
  readonly approval?: GrantedApproval;
  /**
   * The caller the gateway admitted the task for. Set on the tokens of a queued
   * task, which wait on the queue beside the request: the worker takes the caller
   * from here, never from the forwarded headers, so whoever can read the queue
   * cannot re-send a token under another caller's name.
   */
  readonly caller?: { readonly subject: string; readonly role: string };
  /** `sha256:<hex>` of the exact request the token is good for (`delegateRequestDigest`); set on a queued task's tokens. */
  readonly request?: string;
}

/** The JWT claims of `hop` (`chain`, `task`, `intent`, `approval`). */
export function hopClaimsToJwt(hop: HopClaims): Record<string, unknown> {
  const claims: Record<string, unknown> = { chain: chainToJson(hop.chain), task: hop.taskId, intent: hop.intent };
  if (hop.approval !== undefined) {
    claims.approval = { id: hop.approval.approvalId, approver: hop.approval.approver, digest: hop.approval.digest };
  }
  if (hop.caller !== undefined) claims.caller = { sub: hop.caller.subject, role: hop.caller.role };
  if (hop.request !== undefined) claims.req = hop.request;
  return claims;
}

/**
 * Reads the hop claims of a verified gateway token; undefined when it carries no
 * `chain` claim (the gateway's token for calls that start no task, like Cancel).
 * Throws UNAUTHENTICATED (reason `chain_invalid`) when the claims are malformed.
 */
export function parseHopClaims(claims: Readonly<Record<string, unknown>> | undefined): HopClaims | undefined {
  if (claims?.chain === undefined) return undefined;
  try {
    const { task, intent, approval, caller, req } = claims;
    if (typeof task !== "string" || task === "" || typeof intent !== "string" || intent === "") {
      throw new Error("the task and intent claims must be non-empty strings");
    }
    if (req !== undefined && typeof req !== "string") throw new Error("the req claim must be a string");
    return {
      chain: chainFromJson(claims.chain), taskId: task, intent,
      ...(approval === undefined ? {} : { approval: approvalFromJwt(approval) }),
      ...(caller === undefined ? {} : { caller: callerFromJwt(caller) }),
      ...(req === undefined ? {} : { request: req }),
    };
  } catch (err) {
    throw meshError(Code.Unauthenticated, "the gateway's token carries a malformed delegation chain", { reason: "chain_invalid" }, err);
  }
}

function callerFromJwt(value: unknown): { subject: string; role: string } {
  const c = value as { sub?: unknown; role?: unknown } | null;
  if (typeof c !== "object" || c === null || typeof c.sub !== "string" || c.sub === "" || typeof c.role !== "string") {
    throw new Error("the caller claim needs string sub and role");
  }
  return { subject: c.sub, role: c.role };
}

function approvalFromJwt(value: unknown): GrantedApproval {
  const a = value as { id?: unknown; approver?: unknown; digest?: unknown } | null;
  if (typeof a !== "object" || a === null || typeof a.id !== "string" || typeof a.approver !== "string" || typeof a.digest !== "string") {
    throw new Error("the approval claim needs string id, approver and digest");
  }
  return { approvalId: a.id, approver: a.approver, digest: a.digest };
}

/**
 * What a forwarded Delegate runs under, from the gateway's hop token: its chain,
 * and its approval. The claims hold only for the task they name.
 *
 * Throws UNAUTHENTICATED: `chain_missing` when the token carries no chain (the
 * gateway sends one with every Delegate), `chain_invalid` when it was issued for
 * another task.
 */
export function forwardedTask(hop: HopClaims | undefined, taskId: string): { chain: DelegationChain; approval: GrantedApproval | undefined } {
  if (hop === undefined) {
    throw meshError(Code.Unauthenticated, "the gateway's token carries no delegation chain: a forwarded Delegate needs the token the gateway mints for its task", {
      reason: "chain_missing",
    });
  }
  if (hop.taskId !== taskId) {
    throw meshError(Code.Unauthenticated, `the gateway's token was issued for task ${hop.taskId}, not for task ${taskId}`, {
      reason: "chain_invalid",
      metadata: { token_task_id: hop.taskId, task_id: taskId },
    });
  }
  return { chain: hop.chain, approval: hop.approval };
}

/** Mints the hop token for forwarding a task to `agent`, valid until `deadlineMs` (epoch ms) within the cap. */
export type HopTokenIssuer = (agent: string, hop: HopClaims, deadlineMs: number | undefined) => Promise<string>;

/** Options of `createHopTokenIssuer`. */
export interface HopTokenIssuerOptions {
  /** The gateway's subject. */
  readonly subject: string;
  /** Longest lifetime of a hop token, and the lifetime of one for a task without a deadline; default 3600 s. */
  readonly maxTtlSeconds?: number;
}

/** Longest lifetime of a hop token by default: one hour. */
export const defaultHopTokenMaxTtlSeconds = 3600;

/** Hop tokens the issuer keeps for retries of their task; past this many, the oldest is dropped. */
const heldHopTokens = 1_000;

/**
 * Creates the gateway's minter of hop tokens. A call signs a new token (one
 * signature: the claims differ per task), except for a retry: a token asked for
 * again with the same agent, claims and deadline (the forwarder trying another
 * replica of the agent, or the caller retrying the task) is the one signed
 * before, while it has at least nine tenths of the lifetime a fresh one would
 * get. The last `heldHopTokens` tokens are kept for that.
 */
export function createHopTokenIssuer(key: SigningKey, options: HopTokenIssuerOptions): HopTokenIssuer {
  const maxTtl = options.maxTtlSeconds ?? defaultHopTokenMaxTtlSeconds;
  const held = new Map<string, { token: string; expiresAt: number }>();
  return async (agent, hop, deadlineMs) => {
    const now = Date.now();
    const untilDeadline = deadlineMs === undefined ? maxTtl : Math.ceil((deadlineMs - now) / 1000);
    const ttlSeconds = Math.max(1, Math.min(maxTtl, untilDeadline));
    const claims = hopClaimsToJwt(hop);
    const cacheKey = `${agent}\n${deadlineMs ?? ""}\n${JSON.stringify(claims)}`;
    const earlier = held.get(cacheKey);
    if (earlier !== undefined && earlier.expiresAt - now >= ttlSeconds * 900) {
      return earlier.token;
    }
    const token = await issueToken(key, { subject: options.subject, role: "gateway", audience: agentAudience(agent), ttlSeconds, claims });
    held.delete(cacheKey);
    if (held.size >= heldHopTokens) held.delete(held.keys().next().value!);
    // issueToken sets exp from its own clock reading: at least `now`, so this never overstates the lifetime.
    held.set(cacheKey, { token, expiresAt: Math.floor(now / 1000) * 1000 + ttlSeconds * 1000 });
    return token;
  };
}
