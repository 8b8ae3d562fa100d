/**
 * Step 1: authentication. Verifies every signed credential a call carries and
 * puts what they prove in the call's context values:
 *
 * - the bearer token: the caller. A verified gateway may forward the identity of
 *   the caller it serves (headers `agentmesh-caller`, `agentmesh-caller-role`);
 *   from anyone else those headers are ignored. A queued task's hop token names
 *   the caller and the digest of the exact request itself: then the headers are
 *   ignored and another request is refused, since such tokens wait on the queue
 *   where others may read them. The verifier accepts a gateway
 *   token only when it is bound to this service (audience "agentmesh:<self>", see
 *   auth/tokens.ts), so a token the gateway sent to one agent cannot forward
 *   callers to another.
 * - the gateway's hop token (when the bearer is the gateway's): the chain, task
 *   and approval it signed for a forwarded Delegate (chain/hop-token.ts). A token
 *   that names a task is good for that Delegate only.
 * - the chain proof (`agentmesh-chain`, from anyone but the gateway, whose chain
 *   travels in its own token): must be a hop token the gateway issued to this
 *   very caller (chain/chain-proof.ts).
 *
 * The chain step (chain.ts) turns the last two into the call's chain.
 */
import { Code } from "@connectrpc/connect";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import { delegateRequestDigest } from "../approvals/request-digest.js";
import type { MeshInterceptor } from "../call.js";
import { callerKey, chainProofKey, hopTokenKey } from "../context-keys.js";
import { isRole } from "../auth/identity.js";
import { bearerToken } from "../auth/tokens.js";
import type { TokenVerifier } from "../auth/tokens.js";
import { verifyChainProof } from "../chain/chain-proof.js";
import { chainHeader } from "../chain/delegation-chain.js";
import { parseHopClaims } from "../chain/hop-token.js";
import { meshError } from "../errors.js";

/** Header with the subject of the caller the gateway forwards. */
export const forwardedCallerHeader = "agentmesh-caller";
/** Header with the role of the caller the gateway forwards. */
export const forwardedRoleHeader = "agentmesh-caller-role";

/**
 * Creates the authentication step. Throws UNAUTHENTICATED for a missing or bad
 * token (`token_*`), for a gateway token with a task used for another method
 * (`token_invalid`), and for a chain proof that does not verify (`chain_invalid`).
 */
export function createAuthInterceptor(verify: TokenVerifier): MeshInterceptor {
  return (next) => async (call) => {
    const authorization = call.header.get("authorization");
    const { claims, ...identity } = await verify(authorization);
    if (identity.role === "gateway") {
      const hop = parseHopClaims(claims);
      if (hop !== undefined && call.method !== DelegationService.method.delegate) {
        throw meshError(Code.Unauthenticated, "invalid bearer token: a gateway token issued for a task is good only for delegating that task", {
          reason: "token_invalid",
        });
      }
      call.values.set(hopTokenKey, { token: bearerToken(authorization), claims: hop });
      // A queued task's token names its exact request and its caller (gateway/queued-delegation.ts).
      if (hop?.request !== undefined && hop.request !== delegateRequestDigest(call.message as DelegateRequest)) {
        throw meshError(Code.Unauthenticated, "invalid bearer token: the gateway's token was issued for another request", { reason: "token_invalid" });
      }
      const subject = hop?.caller?.subject ?? call.header.get(forwardedCallerHeader);
      const role = hop?.caller?.role ?? call.header.get(forwardedRoleHeader);
      if (subject !== null && subject !== "" && isRole(role)) {
        call.values.set(callerKey, { subject, role, expiresAt: identity.expiresAt, via: identity.subject });
        return next(call);
      }
    } else {
      // The caller is known from here on, also when its chain proof fails below.
      call.values.set(callerKey, identity);
      const proof = call.header.get(chainHeader);
      if (proof !== null && proof !== "") {
        call.values.set(chainProofKey, await verifyChainProof(verify, proof, identity.subject));
      }
    }
    call.values.set(callerKey, identity);
    return next(call);
  };
}
