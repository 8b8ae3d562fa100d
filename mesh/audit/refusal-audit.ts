/**
 * Audits the Delegate refusals the policy step did not decide: those before it (a
 * forged or missing chain proof, bad input, a chain too deep, an exhausted budget)
 * and the mesh's own chain refusals after it (a cycle found when routing). The
 * policy step audits its own decisions; together every refusal of an
 * authenticated caller leaves a record. A Decide refused to someone who may not
 * decide (an agent, the requester) is recorded as a refused approval decision.
 */
import { ApprovalService } from "../../gen/agentmesh/v1/approval_pb.js";
import type { DecideRequest } from "../../gen/agentmesh/v1/approval_pb.js";
import { AuditKind } from "../../gen/agentmesh/v1/audit_pb.js";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import { inputDigest } from "../approvals/request-digest.js";
import type { MeshInterceptor } from "../call.js";
import { callerKey, decisionKey, traceKey } from "../context-keys.js";
import { codeName, errorDetailOf, toConnectError } from "../errors.js";
import type { AuditLog } from "./audit-log.js";

/** Refusals of a Decide by someone who may not decide, audited as refused approval decisions. */
const decideRefusals: ReadonlySet<string> = new Set(["role_not_allowed", "self_approval"]);

/** Refusal reasons of the chain rules, audited wherever they happen. */
const chainRefusals: ReadonlySet<string> = new Set(["chain_cycle", "chain_too_deep", "budget_exhausted", "chain_invalid", "chain_missing"]);

/**
 * Creates the step, placed around authentication: it records a denied decision
 * (revision empty: no policy decided) for a Delegate of an authenticated caller
 * that fails before the policy step set a decision, or with a chain refusal.
 */
export function createRefusalAuditInterceptor(audit: AuditLog, service: string): MeshInterceptor {
  return (next) => async (call) => {
    try {
      return await next(call);
    } catch (err) {
      const caller = call.values.get(callerKey);
      const ce = toConnectError(err);
      const reason = errorDetailOf(ce)?.reason;
      if (call.method === ApprovalService.method.decide && caller !== undefined && reason !== undefined && decideRefusals.has(reason)) {
        // Someone who may not decide tried to: an agent, a non-approver, the requester itself.
        const req = call.message as DecideRequest;
        audit.record({
          kind: AuditKind.APPROVAL_DECISION, service, caller: caller.subject, callerRole: caller.role, approvalId: req.approvalId,
          approvalDecision: "refused", traceId: call.values.get(traceKey)?.traceId ?? "",
          decision: { allow: false, revision: "", reasons: [{ code: reason, message: ce.rawMessage }] },
        });
      }
      if (call.method === DelegationService.method.delegate && caller !== undefined && (call.values.get(decisionKey) === undefined || (reason !== undefined && chainRefusals.has(reason)))) {
        const req = call.message as DelegateRequest;
        audit.record({
          kind: AuditKind.POLICY_DECISION, service, caller: caller.subject, callerRole: caller.role, intent: req.intent, taskId: req.taskId,
          inputDigest: inputDigest(req), traceId: call.values.get(traceKey)?.traceId ?? "",
          decision: { allow: false, revision: "", reasons: [{ code: reason ?? codeName(ce.code), message: ce.rawMessage }] },
        });
      }
      throw err;
    }
  };
}
