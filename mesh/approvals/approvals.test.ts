/**
 * The approval gate and decisions at unit level, with real task and approval
 * stores on disk: one decision wins, a held task never runs without its approval
 * whatever policy says later, decisions journaled before a stop are carried out
 * after it, pending approvals per caller are bounded, an approval is used once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { ApprovalDecision, ApprovalService, ApprovalState } from "../../gen/agentmesh/v1/approval_pb.js";
import { DelegateRequestSchema, DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import { PolicyDecisionSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import { meshCall, recordingLogger } from "../../test/support/mesh-call.js";
import type { MeshCall, MeshHandler } from "../call.js";
import { emptyChain } from "../chain/delegation-chain.js";
import { callerKey, chainKey, decisionKey } from "../context-keys.js";
import { errorDetailOf } from "../errors.js";
import { createFileTaskJournal } from "../tasks/task-journal.js";
import { createTaskStore } from "../tasks/task-store.js";
import type { TaskStore } from "../tasks/task-store.js";
import { withState } from "../tasks/result-builder.js";
import { createApprovalStore } from "./approval-store.js";
import { createApprovals } from "./approvals.js";
import type { Approvals } from "./approvals.js";

let dir: string;
const opened: Approvals[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "approvals-"));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((a) => a.stop()));
  rmSync(dir, { recursive: true, force: true });
});

const needsHuman = create(PolicyDecisionSchema, { allow: false, requiresApproval: true, revision: "r1", reasons: [{ code: "approval_required", message: "high risk" }] });
const allowed = create(PolicyDecisionSchema, { allow: true, revision: "r1" });

/** A service's approvals over journals in `dir`; `runs` records every task the gate or a decision started. */
function service(runs: string[], outcome: "completes" | "fails retryably" = "completes") {
  const tasks: TaskStore = createTaskStore(createFileTaskJournal(join(dir, "tasks.jsonl")));
  const run: MeshHandler = async (call) => {
    const { taskId } = call.message as unknown as { taskId: string };
    runs.push(taskId);
    const rec = tasks.get(taskId)!;
    if (outcome === "completes") {
      await tasks.finish(taskId, withState(rec.result, TaskState.COMPLETED));
      return { result: tasks.get(taskId)!.result };
    }
    // As the idempotency step records a run that failed in a way a retry could fix (e.g. no worker was up).
    const error = new ConnectError("no worker", Code.Unavailable);
    tasks.begin({ taskId, fingerprint: rec.fingerprint, owner: rec.owner, initial: rec.result });
    tasks.release(taskId, withState(rec.result, TaskState.FAILED, { error: { $typeName: "agentmesh.v1.TaskError", code: "unavailable", message: "no worker", retryable: true, reason: "no_worker" } }), error);
    throw error;
  };
  const approvals = createApprovals({
    approvals: createApprovalStore({ path: join(dir, "approvals.jsonl") }),
    tasks, agent: "gateway", targets: () => ["publisher"], run, logger: recordingLogger(),
  });
  opened.push(approvals);
  // What comes after the gate in the chain: here, a handler that records runs too.
  const gated = approvals.gate(run);
  return { approvals, tasks, gated };
}

function delegateCall(taskId: string, decision = needsHuman, subject = "alice", text = "post it"): MeshCall {
  const values = createContextValues();
  values.set(callerKey, { subject, role: "supervisor", expiresAt: Date.now() / 1000 + 600 });
  values.set(chainKey, emptyChain);
  values.set(decisionKey, decision);
  return meshCall(DelegationService.method.delegate, create(DelegateRequestSchema, { taskId, intent: "content.publish", inputs: { text } }), values);
}

function decideCall(approvalId: string, decision: ApprovalDecision, subject: string): MeshCall {
  const values = createContextValues();
  values.set(callerKey, { subject, role: "approver", expiresAt: Date.now() / 1000 + 600 });
  return meshCall(ApprovalService.method.decide, create(ApprovalService.method.decide.input, { approvalId, decision, reason: "looked" }), values);
}

async function hold(s: ReturnType<typeof service>, taskId: string): Promise<string> {
  const res = (await s.gated(delegateCall(taskId))) as { result: Result };
  expect(res.result.state).toBe(TaskState.AWAITING_APPROVAL);
  const listed = await s.approvals.service.listApprovals(create(ApprovalService.method.listApprovals.input, {}), decideCall("", ApprovalDecision.UNSPECIFIED, "bob"));
  return (listed.approvals ?? []).find((a) => a.taskId === taskId)!.approvalId!;
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe("approvals", () => {
  it("lets exactly one of two concurrent decisions win: an approve and a deny never both act", async () => {
    const runs: string[] = [];
    const s = service(runs);
    const id = await hold(s, "t-1");
    const outcomes = await Promise.allSettled([
      s.approvals.service.decide(create(ApprovalService.method.decide.input, { approvalId: id, decision: ApprovalDecision.APPROVE, reason: "ok" }), decideCall(id, ApprovalDecision.APPROVE, "bob")),
      s.approvals.service.decide(create(ApprovalService.method.decide.input, { approvalId: id, decision: ApprovalDecision.DENY, reason: "no" }), decideCall(id, ApprovalDecision.DENY, "carol")),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(["fulfilled", "rejected"]);
    const lost = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    expect([(lost.reason as ConnectError).code, errorDetailOf(lost.reason as ConnectError)?.reason]).toEqual([Code.FailedPrecondition, "approval_not_pending"]);
    await settle();
    const won = (outcomes.find((o) => o.status === "fulfilled") as PromiseFulfilledResult<{ approval?: { state: ApprovalState } }>).value.approval!.state;
    expect(runs).toEqual(won === ApprovalState.APPROVED ? ["t-1"] : []);
    expect(s.tasks.get("t-1")!.result.state).toBe(won === ApprovalState.APPROVED ? TaskState.COMPLETED : TaskState.REJECTED);
  });

  it("keeps a held task waiting when it is sent again and policy now allows it (a shorter chain, a flag turned on)", async () => {
    const runs: string[] = [];
    const s = service(runs);
    await hold(s, "t-1");
    const again = (await s.gated(delegateCall("t-1", allowed))) as { result: Result };
    expect(again.result.state).toBe(TaskState.AWAITING_APPROVAL);
    expect(runs).toEqual([]);
  });

  it("carries out after a restart a decision journaled before the stop", async () => {
    const runs: string[] = [];
    const first = service(runs);
    const id = await hold(first, "t-1");
    // The decision reaches the approval journal, then the process stops before acting on it.
    await createApprovalStore({ path: join(dir, "approvals.jsonl") }).settle(id, ApprovalState.APPROVED, "bob", "ok");
    await first.approvals.stop();
    const second = service(runs);
    await second.approvals.recover();
    await settle();
    expect(runs).toEqual(["t-1"]);
    expect(second.tasks.get("t-1")!.result.state).toBe(TaskState.COMPLETED);
  });

  it("bounds the tasks one caller may have waiting per intent", async () => {
    const s = service([]);
    for (let i = 0; i < 20; i++) await s.gated(delegateCall(`t-${i}`, needsHuman, "alice", `post ${i}`));
    const err = await s.gated(delegateCall("t-20", needsHuman, "alice", "post 20")).catch((e: unknown) => e as ConnectError);
    expect([(err as ConnectError).code, errorDetailOf(err as ConnectError)?.reason]).toEqual([Code.ResourceExhausted, "too_many_pending_approvals"]);
    // Another caller is not affected.
    expect(((await s.gated(delegateCall("t-b", needsHuman, "bea", "post"))) as { result: Result }).result.state).toBe(TaskState.AWAITING_APPROVAL);
  });

  it("uses an approval once: after the approved run failed retryably, the same task id is refused", async () => {
    const runs: string[] = [];
    const s = service(runs, "fails retryably");
    const id = await hold(s, "t-1");
    await s.approvals.service.decide(create(ApprovalService.method.decide.input, { approvalId: id, decision: ApprovalDecision.APPROVE, reason: "ok" }), decideCall(id, ApprovalDecision.APPROVE, "bob"));
    await settle();
    expect([runs, s.tasks.get("t-1")!.result.error?.reason]).toEqual([["t-1"], "no_worker"]);
    const err = await s.gated(delegateCall("t-1")).catch((e: unknown) => e as ConnectError);
    expect([(err as ConnectError).code, errorDetailOf(err as ConnectError)?.reason]).toEqual([Code.FailedPrecondition, "approval_used"]);
    expect(runs).toEqual(["t-1"]);
  });
});
