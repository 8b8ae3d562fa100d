/**
 * The limits every hop enforces on a chain before a task runs: depth, budget, and
 * that the caller is who the chain says delegated.
 */
import { Code } from "@connectrpc/connect";
import { meshError } from "../errors.js";
import type { Identity } from "../auth/identity.js";
import type { Constraints } from "../../gen/agentmesh/v1/task_pb.js";
import { minLimit } from "./delegation-chain.js";
import type { Budget, DelegationChain } from "./delegation-chain.js";

/** Settings of the chain checks. */
export interface ChainLimits {
  /** Most hops a chain may have when it arrives (0 = only direct calls). */
  readonly maxDepth: number;
}

/** Default limits: four delegations deep. */
export const defaultChainLimits: ChainLimits = { maxDepth: 4 };

/**
 * Checks a chain that arrived with a call and returns it with the budget this task
 * may spend: the smaller of the chain's budget and the request's own caps.
 *
 * Throws PERMISSION_DENIED (`chain_caller_mismatch`) when a caller other than the
 * gateway sends a chain whose last hop is not its own; FAILED_PRECONDITION
 * (`chain_too_deep`, `budget_exhausted`) when a limit is reached.
 */
export function admitChain(chain: DelegationChain, caller: Identity, constraints: Constraints | undefined, limits: ChainLimits): DelegationChain {
  const last = chain.hops.at(-1);
  if (last !== undefined && caller.role !== "gateway" && last.agent !== caller.subject) {
    throw meshError(Code.PermissionDenied, `the delegation chain names ${last.agent} as the delegator, but the caller is ${caller.subject}`, {
      reason: "chain_caller_mismatch",
    });
  }
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
