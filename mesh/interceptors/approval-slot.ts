/**
 * Step 5b: the approval gate, right after policy. When the policy asked for a
 * human approval (decision `allow: false, requires_approval: true`) the task must
 * not run. Until an approval service is configured, `createNoApprovalsInterceptor`
 * fills the slot and refuses such calls, failing closed.
 */
import { Code } from "@connectrpc/connect";
import type { MeshInterceptor } from "../call.js";
import { decisionKey } from "../context-keys.js";
import { meshError } from "../errors.js";

/** Refuses every call whose decision requires an approval; passes the rest. */
export function createNoApprovalsInterceptor(): MeshInterceptor {
  return (next) => (call) => {
    const decision = call.values.get(decisionKey);
    if (decision !== undefined && !decision.allow) {
      throw meshError(Code.PermissionDenied, "this task needs a human approval, and this service holds no approvals", {
        reason: "approval_required",
        policyReasons: decision.reasons,
      });
    }
    return next(call);
  };
}
