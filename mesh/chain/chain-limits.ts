/**
 * The limits every hop enforces on a chain before a task runs: depth and budget.
 * (That the chain is the mesh's own, not the caller's invention, is settled before:
 * see chain-proof.ts and hop-token.ts.)
 */
import { Code } from "@connectrpc/connect";
import { meshError } from "../errors.js";
import type { Constraints } from "../../gen/agentmesh/v1/task_pb.js";
import { minLimit } from "./delegation-chain.js";
import type { Budget, DelegationChain } from "./delegation-chain.js";

/** Settings of the chain checks. */
export interface ChainLimits {
  /** Most hops a chain may have when it arrives (0 = only direct calls). */
  readonly maxDepth: number;
  /**
   * True for subjects that are agents of the mesh: they delegate only within a
   * task they were given, so they must prove their chain whatever their role (a
   * supervisor agent cannot reset its depth by leaving its proof out). Unset:
   * only the worker role must.
   */
  readonly isAgent?: (subject: string) => boolean;
}

/** Default limits: four delegations deep. */
export const defaultChainLimits: ChainLimits = { maxDepth: 4 };

/**
 * Checks the proven chain of a call and returns it with the budget this task may
 * spend: the smaller of the chain's budget and the request's own caps.
 *
 * Throws FAILED_PRECONDITION (`chain_too_deep`, `budget_exhausted`) when a limit
 * is reached.
 */
export function admitChain(chain: DelegationChain, constraints: Constraints | undefined, limits: ChainLimits): DelegationChain {
  if (chain.hops.length > limits.maxDepth) {
    throw meshError(Code.FailedPrecondition, `delegation chain depth ${chain.hops.length} exceeds the limit of ${limits.maxDepth}`, {
      reason: "chain_too_deep",
      metadata: { depth: String(chain.hops.length), limit: String(limits.maxDepth) },
    });
  }
  const budget: Budget = {
    moneyMicros: minLimit(chain.budget.moneyMicros, positive(constraints?.maxCostMicros)),
    tokens: minLimit(chain.budget.tokens, positive(constraints?.maxTokens)),
  };
  if ((budget.moneyMicros !== undefined && budget.moneyMicros <= 0n) || (budget.tokens !== undefined && budget.tokens <= 0n)) {
    throw meshError(Code.FailedPrecondition, "the delegation chain has no budget left for this task", {
      reason: "budget_exhausted",
      metadata: { money_micros: String(budget.moneyMicros ?? "unlimited"), tokens: String(budget.tokens ?? "unlimited") },
    });
  }
  return { hops: chain.hops, budget };
}

/** `v` when it is a positive limit; undefined for unset, zero or negative (no limit). */
export function positive(v: bigint | undefined): bigint | undefined {
  return v === undefined || v <= 0n ? undefined : v;
}
