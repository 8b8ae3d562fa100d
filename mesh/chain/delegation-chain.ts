/**
 * The delegation chain: which agents, for which intents and tasks, led to the call
 * being made, and how much budget is left for the rest of the work. The mesh
 * carries it in the `agentmesh-chain` request header and extends it whenever a
 * handler delegates onward; handlers never write it themselves.
 */
import { Code } from "@connectrpc/connect";
import { meshError } from "../errors.js";

/** The request header that carries the chain. */
export const chainHeader = "agentmesh-chain";

/** One delegating task on the chain. */
export interface ChainHop {
  /** The agent that delegated. */
  readonly agent: string;
  /** The intent it was executing when it delegated. */
  readonly intent: string;
  /** The task it was executing. */
  readonly taskId: string;
}

/** What is left to spend; undefined means no limit. */
export interface Budget {
  readonly moneyMicros: bigint | undefined;
  readonly tokens: bigint | undefined;
}

/** The chain a call arrived with. */
export interface DelegationChain {
  /** Delegating tasks, the originating one first. */
  readonly hops: readonly ChainHop[];
  readonly budget: Budget;
}

/** The chain of a call from outside the mesh: no hops, no budget limit. */
export const emptyChain: DelegationChain = { hops: [], budget: { moneyMicros: undefined, tokens: undefined } };

interface WireChain {
  v: 1;
  hops: { a: string; i: string; t: string }[];
  m?: string;
  k?: string;
}

/** Encodes a chain for the header (base64url JSON). */
export function encodeChain(chain: DelegationChain): string {
  const wire: WireChain = { v: 1, hops: chain.hops.map((h) => ({ a: h.agent, i: h.intent, t: h.taskId })) };
  if (chain.budget.moneyMicros !== undefined) wire.m = chain.budget.moneyMicros.toString();
  if (chain.budget.tokens !== undefined) wire.k = chain.budget.tokens.toString();
  return Buffer.from(JSON.stringify(wire)).toString("base64url");
}

/**
 * Decodes the header value; an absent header is the empty chain.
 * Throws INVALID_ARGUMENT (reason `chain_malformed`) for anything unreadable.
 */
export function decodeChain(value: string | null): DelegationChain {
  if (value === null || value === "") {
    return emptyChain;
  }
  try {
    const wire = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as WireChain;
    if (wire.v !== 1 || !Array.isArray(wire.hops)) {
      throw new Error("unknown chain version");
    }
    const hops = wire.hops.map((h) => {
      if (typeof h.a !== "string" || typeof h.i !== "string" || typeof h.t !== "string") {
        throw new Error("bad hop");
      }
      return { agent: h.a, intent: h.i, taskId: h.t };
    });
    return { hops, budget: { moneyMicros: optionalBigint(wire.m), tokens: optionalBigint(wire.k) } };
  } catch (err) {
    throw meshError(Code.InvalidArgument, `malformed ${chainHeader} header`, { reason: "chain_malformed" }, err);
  }
}

function optionalBigint(value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d{1,19}$/.test(value)) throw new Error("bad budget");
  return BigInt(value);
}

/** The smaller of two optional limits (undefined is no limit). */
export function minLimit(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

/** The chain a sub-delegation carries: this chain plus the delegating task, with the budget left. */
export function extendChain(chain: DelegationChain, hop: ChainHop, budget: Budget): DelegationChain {
  return { hops: [...chain.hops, hop], budget };
}

/** The hop on the chain where `agent` already executed `intent`, which a new delegation would repeat. */
export function findCycle(chain: DelegationChain, agent: string, intent: string): ChainHop | undefined {
  return chain.hops.find((h) => h.agent === agent && h.intent === intent);
}

/**
 * Throws FAILED_PRECONDITION (reason `chain_cycle`) when handing `intent` to
 * `agent` would repeat a hop already on the chain.
 */
export function assertNoCycle(chain: DelegationChain, agent: string, intent: string): void {
  const hop = findCycle(chain, agent, intent);
  if (hop !== undefined) {
    const path = [...chain.hops.map((h) => `${h.agent}(${h.intent})`), `${agent}(${intent})`].join(" -> ");
    throw meshError(Code.FailedPrecondition, `delegation cycle: ${agent} is already executing ${intent} on this chain (${path})`, {
      reason: "chain_cycle",
      metadata: { agent, intent, task_id: hop.taskId },
    });
  }
}
