/**
 * Step 4: delegation chain bookkeeping. Reads the chain the call arrived with,
 * checks depth, budget and that the caller is the chain's last delegator, refuses
 * a cycle back to this agent, and leaves the admitted chain (with the budget this
 * task may spend) for the handler's own sub-delegations.
 */
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { MeshInterceptor } from "../call.js";
import { callerKey, chainKey } from "../context-keys.js";
import { admitChain } from "../chain/chain-limits.js";
import type { ChainLimits } from "../chain/chain-limits.js";
import { assertNoCycle, chainHeader, decodeChain } from "../chain/delegation-chain.js";

/** Options of `createChainInterceptor`. */
export interface ChainInterceptorOptions {
  readonly limits: ChainLimits;
  /** The agent this service is; a chain that already has it for the same intent is a cycle. Unset on the gateway, which checks the resolved target instead. */
  readonly agentName?: string;
}

/** Creates the chain step; it acts on `Delegate` only. */
export function createChainInterceptor(options: ChainInterceptorOptions): MeshInterceptor {
  return (next) => (call) => {
    if (call.method !== DelegationService.method.delegate) {
      return next(call);
    }
    const req = call.message as DelegateRequest;
    const caller = call.values.get(callerKey)!;
    const chain = admitChain(decodeChain(call.header.get(chainHeader)), caller, req.constraints, options.limits);
    if (options.agentName !== undefined) {
      assertNoCycle(chain, options.agentName, req.intent);
    }
    call.values.set(chainKey, chain);
    return next(call);
  };
}
