/**
 * Human approvals through a real gateway and worker: a held task waits in
 * AWAITING_APPROVAL and runs nothing; only an approver (never an agent, never the
 * requester) decides; on approve it runs once and its result reaches WatchResult;
 * on deny it ends REJECTED; an approval covers one exact request. The gateway's
 * policy step here is a stand-in that asks for approval for echo texts starting
 * with "risky" (test/support/stand-in-policy.ts; the OPA policy has its own
 * tests); everything after it is real, and the worker runs the committed policy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { ApprovalDecision, ApprovalService, ApprovalState } from "../gen/agentmesh/v1/approval_pb.js";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, errorDetailOf, isTerminal } from "../mesh/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { rejection } from "./support/rejection.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { riskyEchoPolicy } from "./support/stand-in-policy.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

let mesh: TestMesh;
let client: GrpcClient;
const log = createExecutionLog();
const md = async (subject: string, role: Parameters<TestMesh["token"]>[1]) => ({ authorization: `Bearer ${await mesh.token(subject, role)}` });

beforeAll(async () => {
  mesh = await startTestMesh({}, undefined, riskyEchoPolicy);
  await mesh.startAgent("worker-a", testIntents(log));
  client = createGrpcClient(mesh.grpcAddress);
});
afterAll(async () => {
  client.close();
  await mesh.stop();
});

let seq = 0;
const id = (p: string) => `${p}-${++seq}`;
const runs = (taskId: string) => log.entries.filter((e) => e === taskId).length;

async function delegate(taskId: string, text: string): Promise<Result> {
  const res = await client.unary(DelegationService.method.delegate, { taskId, intent: "test.echo", inputs: { text } }, { metadata: await md("alice", "supervisor") });
  return res.result!;
}

async function pendingFor(taskId: string) {
  const res = await client.unary(ApprovalService.method.listApprovals, { state: ApprovalState.PENDING }, { metadata: await md("bob", "approver") });
  const found = res.approvals.find((a) => a.taskId === taskId);
  if (found === undefined) throw new Error(`no pending approval for ${taskId}`);
  return found;
}

async function decide(approvalId: string, decision: ApprovalDecision, subject = "bob", role: Parameters<TestMesh["token"]>[1] = "approver") {
  return client.unary(ApprovalService.method.decide, { approvalId, decision, reason: "checked the copy" }, { metadata: await md(subject, role) });
}

async function terminal(taskId: string): Promise<Result> {
  let last: Result | undefined;
  for await (const ev of client.serverStream(DelegationService.method.watchResult, { taskId }, { metadata: await md("alice", "supervisor"), deadline: Date.now() + 10_000 })) {
    last = ev.result;
    if (isTerminal(ev.state)) break;
  }
  return last!;
}

describe("a task that needs a human", () => {
  it("waits in AWAITING_APPROVAL and runs nothing until an approver decides", async () => {
    const taskId = id("hold");
    const res = await delegate(taskId, "risky launch");
    expect([res.state, res.decision?.requiresApproval, res.decision?.reasons.map((r) => r.code)]).toEqual([TaskState.AWAITING_APPROVAL, true, ["approval_required"]]);
    const approval = await pendingFor(taskId);
    expect([approval.intent, approval.requestedBy, approval.targets.includes("worker-a"), approval.inputs, approval.requestDigest]).toEqual(["test.echo", "alice", true, { text: "risky launch" }, expect.stringMatching(/^sha256:[0-9a-f]{64}$/)]);
    // Asking again returns the same waiting task, without a second approval.
    expect((await delegate(taskId, "risky launch")).state).toBe(TaskState.AWAITING_APPROVAL);
    const all = await client.unary(ApprovalService.method.listApprovals, {}, { metadata: await md("bob", "approver") });
    expect(all.approvals.filter((a) => a.taskId === taskId)).toHaveLength(1);
    expect(runs(taskId)).toBe(0);
  });

  it("runs once after approval, and its result reaches WatchResult and repeats", async () => {
    const taskId = id("approve");
    await delegate(taskId, "risky but fine");
    const approval = await pendingFor(taskId);
    const watching = terminal(taskId);
    const decided = await decide(approval.approvalId, ApprovalDecision.APPROVE);
    expect([decided.approval?.state, decided.approval?.decidedBy, decided.approval?.decisionReason]).toEqual([ApprovalState.APPROVED, "bob", "checked the copy"]);
    const done = await watching;
    expect([done.state, done.outputs]).toEqual([TaskState.COMPLETED, { text: "risky but fine" }]);
    expect(runs(taskId)).toBe(1);
    const again = await delegate(taskId, "risky but fine");
    expect([again.state, again.outputs]).toEqual([TaskState.COMPLETED, { text: "risky but fine" }]);
    expect(runs(taskId)).toBe(1);
    // Used once: it cannot be decided again.
    const err = await rejection(decide(approval.approvalId, ApprovalDecision.APPROVE));
    expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.FailedPrecondition, "approval_not_pending"]);
  });

  it("ends REJECTED with the approver's reason on deny", async () => {
    const taskId = id("deny");
    await delegate(taskId, "risky claim");
    const approval = await pendingFor(taskId);
    await decide(approval.approvalId, ApprovalDecision.DENY);
    const done = await terminal(taskId);
    expect([done.state, done.error?.reason, done.error?.message]).toEqual([TaskState.REJECTED, "approval_denied", "denied by bob: checked the copy"]);
    expect(runs(taskId)).toBe(0);
  });

  it.each<[string, string, Parameters<TestMesh["token"]>[1], string]>([
    ["an agent (worker)", "worker-a", "worker", "role_not_allowed"],
    ["an agent (supervisor), even for its own task", "alice", "supervisor", "role_not_allowed"],
    ["the requester holding an approver token", "alice", "approver", "self_approval"],
  ])("refuses a decision by %s with PERMISSION_DENIED", async (_name, subject, role, reason) => {
    const taskId = id("who");
    await delegate(taskId, "risky");
    const approval = await pendingFor(taskId);
    const err = await rejection(decide(approval.approvalId, ApprovalDecision.APPROVE, subject, role));
    expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.PermissionDenied, reason]);
    expect((await pendingFor(taskId)).state).toBe(ApprovalState.PENDING);
  });

  it("refuses a changed request under an approved task id: the approval covers one exact request", async () => {
    const taskId = id("replay");
    await delegate(taskId, "risky v1");
    await decide((await pendingFor(taskId)).approvalId, ApprovalDecision.APPROVE);
    await terminal(taskId);
    const err = await rejection(delegate(taskId, "risky v2"));
    expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.FailedPrecondition, "approval_mismatch"]);
    expect(log.entries.filter((e) => e === taskId)).toHaveLength(1);
  });

  it("lets auditors list approvals and refuses workers", async () => {
    await expect(client.unary(ApprovalService.method.listApprovals, {}, { metadata: await md("audrey", "auditor") })).resolves.toBeDefined();
    const err = await rejection(client.unary(ApprovalService.method.listApprovals, {}, { metadata: await md("worker-a", "worker") }));
    expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.PermissionDenied, "role_not_allowed"]);
  });

  it("validates a decision: a reason is required", async () => {
    const err = await rejection(client.unary(ApprovalService.method.decide, { approvalId: "nope", decision: ApprovalDecision.APPROVE, reason: "" }, { metadata: await md("bob", "approver") }));
    expect([err.code, errorDetailOf(err)?.violations.map((v) => v.field)]).toEqual([Code.InvalidArgument, ["approval_id", "reason"]]);
  });
});
