import { create, toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ApprovalState } from "../../gen/agentmesh/v1/approval_pb.js";
import { AuditRecordSchema } from "../../gen/agentmesh/v1/audit_pb.js";
import { DelegateRequestSchema } from "../../gen/agentmesh/v1/delegation_pb.js";
import { PolicyDecisionSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { createApprovalStore } from "../approvals/approval-store.js";
import type { HeldTask } from "../approvals/approval-store.js";
import { inputDigest } from "../approvals/request-digest.js";
import { approvalAuditRecord } from "./approval-audit.js";

const request = create(DelegateRequestSchema, { taskId: "job-1.publish", correlationId: "job-1", intent: "content.publish", inputs: { title: "Beacon" } });
const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";

/** A task held for approval at `targets`, settled to `state` by `by`. */
async function settled(state: ApprovalState, by: string, reason: string, targets = ["publisher"]): Promise<HeldTask> {
  const store = createApprovalStore();
  const held = await store.add({
    request, caller: { subject: "supervisor", role: "supervisor", expiresAt: 0 }, chain: { hops: [], budget: { moneyMicros: undefined, tokens: undefined } },
    trace: { traceId, spanId: "00f067aa0ba902b7", parentSpanId: undefined, sampled: true }, targets, digest: "sha256:ab", depth: 1,
    decision: create(PolicyDecisionSchema, { allow: false, requiresApproval: true, revision: "r7", reasons: [{ code: "approval_required", message: "content.publish is high risk" }] }),
  });
  return store.settle(held.approval.approvalId, state, by, reason);
}

/** The record as proto JSON, with the approval id in place of its random value. */
const json = (held: HeldTask, service: string) => {
  const { approvalId, ...rest } = toJson(AuditRecordSchema, create(AuditRecordSchema, approvalAuditRecord(service, held))) as Record<string, unknown>;
  return { ...rest, approvalId: approvalId === held.approval.approvalId ? "<approval id>" : approvalId };
};

describe("approvalAuditRecord", () => {
  it.each<[string, ApprovalState, string, { caller?: string; callerRole?: string; allow?: boolean; last: { code: string; message: string } }]>([
    ["approve", ApprovalState.APPROVED, "bob", { caller: "bob", callerRole: "approver", allow: true, last: { code: "approved", message: "approved by bob: copy checked" } }],
    ["deny", ApprovalState.DENIED, "bob", { caller: "bob", callerRole: "approver", last: { code: "approval_denied", message: "denied by bob: copy checked" } }],
    ["expired", ApprovalState.EXPIRED, "", { last: { code: "approval_expired", message: "copy checked" } }],
  ])("records the approver, the decision %s, the approval, task, intent and trace", async (decision, state, by, expected) => {
    const held = await settled(state, by, "copy checked");
    expect(json(held, "gateway")).toEqual({
      kind: "AUDIT_KIND_APPROVAL_DECISION", service: "gateway",
      ...(expected.caller === undefined ? {} : { caller: expected.caller, callerRole: expected.callerRole }),
      target: "publisher", intent: "content.publish", taskId: "job-1.publish", inputDigest: inputDigest(request), traceId,
      decision: {
        ...(expected.allow === undefined ? {} : { allow: true }), requiresApproval: true, revision: "r7",
        reasons: [{ code: "approval_required", message: "content.publish is high risk" }, expected.last],
      },
      approvalId: "<approval id>", approvalDecision: decision,
    });
  });

  it("names no target when the task may run on more than one agent", async () => {
    const held = await settled(ApprovalState.APPROVED, "bob", "ok", ["publisher", "publisher-eu"]);
    expect(approvalAuditRecord("gateway", held).target).toBe("");
  });

  it("throws for an approval nobody decided", async () => {
    const held = await settled(ApprovalState.PENDING, "", "");
    expect(() => approvalAuditRecord("gateway", held)).toThrow(new Error(`approval ${held.approval.approvalId} is not decided`));
  });
});
