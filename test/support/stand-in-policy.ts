/**
 * A stand-in for the policy step, for tests of what comes after it (the approval
 * gate, the approved task, a parent waiting for it): it admits every call and
 * sends `test.echo` calls whose text starts with "risky" to a human. The OPA
 * policy has tests of its own (test/policy.test.ts, test/policy-bundle.test.ts).
 */
import { create } from "@bufbuild/protobuf";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import { PolicyDecisionSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { decisionKey } from "../../mesh/index.js";
import type { MeshInterceptor } from "../../mesh/index.js";

/** Echo texts starting with "risky" need a human (`approval_required`, revision "stand-in"); everything else is allowed. */
export const riskyEchoPolicy: MeshInterceptor = (next) => (call) => {
  const req = call.message as Partial<DelegateRequest>;
  const text = (req.inputs as { text?: unknown } | undefined)?.text;
  const risky = req.intent === "test.echo" && typeof text === "string" && text.startsWith("risky");
  call.values.set(decisionKey, create(PolicyDecisionSchema, risky
    ? { allow: false, requiresApproval: true, revision: "stand-in", reasons: [{ code: "approval_required", message: "risky echoes need a human" }] }
    : { allow: true, revision: "stand-in" }));
  return next(call);
};
