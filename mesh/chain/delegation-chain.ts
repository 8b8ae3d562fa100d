/**
 * The delegation chain: which agents, for which intents and tasks, led to the call
 * being made, and how much budget is left for the rest of the work. Only the mesh
 * writes it: the gateway signs it into the token of each hop it forwards
 * (hop-token.ts), and a handler's sub-delegation presents that token back as
 * proof (chain-proof.ts); handlers never write a chain themselves.
 */
import { Code } from "@connectrpc/connect";
import { meshError } from "../errors.js";

/**
 * The request header of a sub-delegation that proves its chain: the gateway's
 * signed hop token of the task the caller delegates from.
 */
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

/** No budget limit. */
export const unlimitedBudget: Budget = { moneyMicros: undefined, tokens: undefined };

/** The chain of a call from outside the mesh: no hops, no budget limit. */
export const emptyChain: DelegationChain = { hops: [], budget: unlimitedBudget };

/** The JSON form of a chain (version 1, short keys, budgets as decimal strings). */
export interface ChainJson {
  v: 1;
  hops: { a: string; i: string; t: string }[];
  m?: string;
  k?: string;
}

/** The JSON form of `chain`, as the gateway signs it into a hop token. */
export function chainToJson(chain: DelegationChain): ChainJson {
  const wire: ChainJson = { v: 1, hops: chain.hops.map((h) => ({ a: h.agent, i: h.intent, t: h.taskId })) };
  if (chain.budget.moneyMicros !== undefined) wire.m = chain.budget.moneyMicros.toString();
  if (chain.budget.tokens !== undefined) wire.k = chain.budget.tokens.toString();
  return wire;
}

/**
 * Reads the JSON form of a chain. Throws an `Error` saying what is wrong for
 * anything else; the caller turns it into the refusal that fits where it came from.
 */
export function chainFromJson(value: unknown): DelegationChain {
  const wire = value as Partial<ChainJson> | null;
  if (typeof wire !== "object" || wire === null || wire.v !== 1 || !Array.isArray(wire.hops)) {
    throw new Error("not a version 1 chain");
  }
  const hops = wire.hops.map((h: unknown) => {
    const hop = h as Partial<ChainJson["hops"][number]> | null;
    if (typeof hop !== "object" || hop === null || typeof hop.a !== "string" || typeof hop.i !== "string" || typeof hop.t !== "string") {
      throw new Error("a hop needs string agent, intent and task id");
    }
    return { agent: hop.a, intent: hop.i, taskId: hop.t };
  });
  return { hops, budget: { moneyMicros: optionalBigint(wire.m), tokens: optionalBigint(wire.k) } };
}

function optionalBigint(value: unknown): bigint | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^-?\d{1,19}$/.test(value)) throw new Error("a budget must be an integer of at most 19 digits");
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
