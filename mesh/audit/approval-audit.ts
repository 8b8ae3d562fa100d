/**
 * The audit record of a human decision on an approval, or of its expiry: who
 * decided (the approver), what (approve, deny, expired), on which approval, task,
 * intent and trace. `startPolicy` records one for every decision its service's
 * approvals report (`createServiceApprovals`' `onDecision`).
 */
import { ApprovalState } from "../../gen/agentmesh/v1/approval_pb.js";
import { AuditKind } from "../../gen/agentmesh/v1/audit_pb.js";
import type { HeldTask } from "../approvals/approval-store.js";
import { inputDigest } from "../approvals/request-digest.js";
import type { AuditRecordInit } from "./audit-log.js";

/** `AuditRecord.approval_decision` per settled approval state. */
const decisionNames: Partial<Record<ApprovalState, string>> = {
  [ApprovalState.APPROVED]: "approve",
  [ApprovalState.DENIED]: "deny",
  [ApprovalState.EXPIRED]: "expired",
};

/** Reason code and verb of the record's last reason, per settled approval state. */
const outcomes: Partial<Record<ApprovalState, { code: string; verb: string }>> = {
  [ApprovalState.APPROVED]: { code: "approved", verb: "approved" },
  [ApprovalState.DENIED]: { code: "approval_denied", verb: "denied" },
  [ApprovalState.EXPIRED]: { code: "approval_expired", verb: "expired" },
};

/**
 * The APPROVAL_DECISION record `service` keeps for `held`, whose approval was
 * just settled. The caller is the approver (none for an expiry); the target is
 * the agent the task may run on when there is exactly one; the decision carries
 * the reasons policy asked for a human with, then the human's. Throws when the
 * approval is still pending (nothing was decided).
 */
export function approvalAuditRecord(service: string, held: HeldTask): AuditRecordInit {
  const a = held.approval;
  const decision = decisionNames[a.state];
  const outcome = outcomes[a.state];
  if (decision === undefined || outcome === undefined) throw new Error(`approval ${a.approvalId} is not decided`);
  const expired = a.state === ApprovalState.EXPIRED;
  return {
    kind: AuditKind.APPROVAL_DECISION,
    service,
    caller: a.decidedBy,
    callerRole: expired ? "" : "approver",
    target: a.targets.length === 1 ? a.targets[0]! : "",
    intent: a.intent,
    taskId: a.taskId,
    inputDigest: inputDigest(held.request),
    decision: {
      allow: a.state === ApprovalState.APPROVED,
      requiresApproval: true,
      revision: a.policyRevision,
      reasons: [...a.reasons, { code: outcome.code, message: expired ? a.decisionReason : `${outcome.verb} by ${a.decidedBy}: ${a.decisionReason}` }],
    },
    traceId: held.trace?.traceId ?? "",
    approvalId: a.approvalId,
    approvalDecision: decision,
  };
}
