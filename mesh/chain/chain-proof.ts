/**
 * The proof of a sub-delegation's chain. When a handler delegates onward, the
 * runtime sends the gateway's hop token of the handler's own task in the
 * `agentmesh-chain` header (never anything the handler wrote). The receiver
 * verifies that the mesh signed it for this very caller and derives the new chain
 * from it: the proven chain plus one hop for the caller's task, with a budget the
 * caller may lower (`agentmesh-budget`) but never raise.
 *
 * Who must prove a chain: a caller in role worker acts only within a task it was
 * given, so it must send a proof; any other caller (a supervisor, a person on the
 * CLI) may start a chain by sending none. A chain header that is not a valid proof
 * is refused, whoever sends it: it is exactly a forged chain.
 */
import { Code } from "@connectrpc/connect";
import type { Identity } from "../auth/identity.js";
import { TokenError, agentAudience } from "../auth/tokens.js";
import type { TokenVerifier } from "../auth/tokens.js";
import { meshError } from "../errors.js";
import { chainHeader, extendChain, minLimit } from "./delegation-chain.js";
import type { Budget, DelegationChain } from "./delegation-chain.js";
import { parseHopClaims } from "./hop-token.js";
import type { HopClaims } from "./hop-token.js";

/**
 * Verifies the proof `token` that `caller` sent and returns what it proves: the
 * hop claims of the task the caller delegates from.
 *
 * Throws UNAUTHENTICATED (reason `chain_invalid`) unless it is a token the mesh
 * signed, in role gateway, not expired (beyond the verifier's clock tolerance),
 * bound to the caller alone (audience "agentmesh:<caller>") and carrying a chain.
 */
export async function verifyChainProof(verifier: TokenVerifier, token: string, caller: string): Promise<HopClaims> {
  const notSigned = (why: string, cause?: unknown) =>
    meshError(Code.Unauthenticated, `the ${chainHeader} header is not a delegation chain signed by the mesh: ${why}`, { reason: "chain_invalid" }, cause);
  let evidence;
  try {
    evidence = await verifier.verifyEvidence(token);
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    if (err.expired) {
      throw meshError(Code.Unauthenticated, `the delegation chain in the ${chainHeader} header has expired: it lasts until its task's deadline, an hour at most`, {
        reason: "chain_invalid",
      }, err);
    }
    throw notSigned(err.message, err);
  }
  if (evidence.role !== "gateway") {
    throw notSigned("it is not a token of the gateway");
  }
  const own = agentAudience(caller);
  if (evidence.audiences.length !== 1 || evidence.audiences[0] !== own) {
    throw meshError(Code.Unauthenticated, `the delegation chain in the ${chainHeader} header was issued to ${evidence.audiences.join(", ") || "nobody"}, not to the caller (${own})`, {
      reason: "chain_invalid",
    });
  }
  const hop = parseHopClaims(evidence.claims);
  if (hop === undefined) {
    throw notSigned("the token carries no delegation chain");
  }
  return hop;
}

/**
 * The chain of a sub-delegation: the proven chain plus the hop of the task the
 * caller delegates from, with the smaller of the proven budget and the one the
 * caller says it has left (`agentmesh-budget`).
 */
export function subDelegationChain(proof: HopClaims, caller: string, callerBudget: Budget): DelegationChain {
  return extendChain(proof.chain, { agent: caller, intent: proof.intent, taskId: proof.taskId }, {
    moneyMicros: minLimit(proof.chain.budget.moneyMicros, callerBudget.moneyMicros),
    tokens: minLimit(proof.chain.budget.tokens, callerBudget.tokens),
  });
}

/**
 * The chain of a call that sent no proof: a new chain, with the budget the caller
 * gave it. Throws UNAUTHENTICATED (reason `chain_missing`) for a caller in role
 * worker, or one `isAgent` names: an agent delegates only within a task it was given.
 */
export function startedChain(caller: Identity, callerBudget: Budget, isAgent?: (subject: string) => boolean): DelegationChain {
  if (caller.role === "worker" || isAgent?.(caller.subject) === true) {
    throw meshError(Code.Unauthenticated, `${caller.subject} is an agent of the mesh: an agent delegates only within a task it was given, so the ${chainHeader} header must carry the gateway's token for that task`, {
      reason: "chain_missing",
    });
  }
  return { hops: [], budget: callerBudget };
}
