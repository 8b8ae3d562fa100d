/**
 * Step 5: policy. On every service the OPA policy step (`createPolicyInterceptor`,
 * in mesh/policy/policy-interceptor.ts) fills this slot: `startAgent` and
 * `startGateway` load the bundle in AGENTMESH_POLICY_DIR (default policy/build).
 * `createNoPolicyInterceptor` fills it only where a governance chain is built
 * without a policy step (tests of the steps before or after policy), and records
 * on every result that no policy was evaluated.
 */
import { create } from "@bufbuild/protobuf";
import { PolicyDecisionSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshInterceptor } from "../call.js";
import { decisionKey } from "../context-keys.js";

const noPolicyDecision = create(PolicyDecisionSchema, {
  allow: true,
  reasons: [{ code: "no_policy", message: "no policy engine is configured on this service; the call was admitted by authentication, validation and chain limits only" }],
  requiresApproval: false,
  revision: "",
});

/** Fills the policy slot when no policy engine is configured: admits, and says so on the decision. */
export function createNoPolicyInterceptor(): MeshInterceptor {
  return (next) => (call) => {
    call.values.set(decisionKey, noPolicyDecision);
    return next(call);
  };
}
