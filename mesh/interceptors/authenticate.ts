/**
 * Step 1: authentication. Verifies the bearer token and puts the caller in the
 * call's context values. A verified gateway may forward the identity of the caller
 * it serves (headers `agentmesh-caller`, `agentmesh-caller-role`); from anyone
 * else those headers are ignored. The verifier accepts a gateway token only when
 * it is bound to this service (audience "agentmesh:<self>", see auth/tokens.ts),
 * so a token the gateway sent to one agent cannot forward callers to another.
 */
import type { MeshInterceptor } from "../call.js";
import { callerKey } from "../context-keys.js";
import { isRole } from "../auth/identity.js";
import type { TokenVerifier } from "../auth/tokens.js";

/** Header with the subject of the caller the gateway forwards. */
export const forwardedCallerHeader = "agentmesh-caller";
/** Header with the role of the caller the gateway forwards. */
export const forwardedRoleHeader = "agentmesh-caller-role";

/** Creates the authentication step. Throws UNAUTHENTICATED for a missing or bad token. */
export function createAuthInterceptor(verify: TokenVerifier): MeshInterceptor {
  return (next) => async (call) => {
    const identity = await verify(call.header.get("authorization"));
    if (identity.role === "gateway") {
      const subject = call.header.get(forwardedCallerHeader);
      const role = call.header.get(forwardedRoleHeader);
      if (subject !== null && subject !== "" && isRole(role)) {
        call.values.set(callerKey, { subject, role, expiresAt: identity.expiresAt, via: identity.subject });
        return next(call);
      }
    }
    call.values.set(callerKey, identity);
    return next(call);
  };
}
