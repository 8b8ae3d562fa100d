/**
 * Step 4: delegation chain bookkeeping. Takes the chain the call runs under only
 * from what the mesh signed (verified in step 1):
 *
 * - from the gateway: the chain of its hop token for this task (the
 *   `agentmesh-chain` header is ignored), and the approval the token carries;
 * - from anyone else with a chain proof: the proven chain plus the caller's own
 *   task, with the budget the caller has left (`agentmesh-budget`, which can only
 *   lower it);
 * - from anyone else without a proof: a new chain, except for a worker, which must
 *   prove the task it delegates within.
 *
 * Then it checks depth and budget, refuses a cycle back to this agent, and leaves
 * the admitted chain (with the budget this task may spend) for the handler's own
 * sub-delegations.
 */
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { MeshCall, MeshInterceptor } from "../call.js";
import { approvalKey, callerKey, chainKey, chainProofKey, hopTokenKey } from "../context-keys.js";
import type { GrantedApproval } from "../context-keys.js";
import { budgetHeader, parseBudget } from "../chain/budget-header.js";
import { admitChain } from "../chain/chain-limits.js";
import type { ChainLimits } from "../chain/chain-limits.js";
import { startedChain, subDelegationChain } from "../chain/chain-proof.js";
import { assertNoCycle } from "../chain/delegation-chain.js";
import type { DelegationChain } from "../chain/delegation-chain.js";
import { forwardedTask } from "../chain/hop-token.js";

/** Options of `createChainInterceptor`. */
export interface ChainInterceptorOptions {
  readonly limits: ChainLimits;
  /** The agent this service is; a chain that already has it for the same intent is a cycle. Unset on the gateway, which checks the resolved target instead. */
  readonly agentName?: string;
}

/**
 * Creates the chain step; it acts on `Delegate` only. Throws UNAUTHENTICATED
 * (`chain_missing`, `chain_invalid`) when the chain is not proven as above,
 * INVALID_ARGUMENT (`budget_malformed`) for a bad budget header, and
 * FAILED_PRECONDITION (`chain_too_deep`, `budget_exhausted`, `chain_cycle`).
 */
export function createChainInterceptor(options: ChainInterceptorOptions): MeshInterceptor {
  return (next) => (call) => {
    if (call.method !== DelegationService.method.delegate) {
      return next(call);
    }
    const req = call.message as DelegateRequest;
    const { chain, approval } = provenChain(call, req, options.limits.isAgent);
    const admitted = admitChain(chain, req.constraints, options.limits);
    if (options.agentName !== undefined) {
      assertNoCycle(admitted, options.agentName, req.intent);
    }
    call.values.set(chainKey, admitted);
    if (approval !== undefined) {
      call.values.set(approvalKey, approval);
    }
    return next(call);
  };
}

function provenChain(call: MeshCall, req: DelegateRequest, isAgent: ((subject: string) => boolean) | undefined): { chain: DelegationChain; approval?: GrantedApproval | undefined } {
  const hop = call.values.get(hopTokenKey);
  if (hop !== undefined) {
    return forwardedTask(hop.claims, req.taskId);
  }
  const caller = call.values.get(callerKey)!;
  const budget = parseBudget(call.header.get(budgetHeader));
  const proof = call.values.get(chainProofKey);
  return { chain: proof === undefined ? startedChain(caller, budget, isAgent) : subDelegationChain(proof, caller.subject, budget) };
}
