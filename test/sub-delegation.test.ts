/**
 * What a parent task's `ctx.delegate` does with a sub-task that does not end at
 * once, through a real gateway and two agents on loopback: it waits while the
 * gateway holds the sub-task for a human (and its result carries the sub-task's
 * final state), within its own deadline; and when the parent is canceled, the
 * sub-task is canceled at the gateway and at the worker, and its handler stops.
 * keeper runs `test.relay` (delegating onward); sleeper runs `test.echo` and
 * `test.sleep`, noting when its handler ends. The gateway's policy step is
 * a stand-in (test/support/stand-in-policy.ts: echo texts starting with "risky"
 * need a human); the agents run the committed policy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import type { ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ApprovalDecision, ApprovalService, ApprovalState } from "../gen/agentmesh/v1/approval_pb.js";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, errorDetailOf } from "../mesh/index.js";
import type { GrpcClient, IntentDefinition, Role } from "../mesh/index.js";
import { rejection } from "./support/rejection.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { riskyEchoPolicy } from "./support/stand-in-policy.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

/** How each `test.sleep` execution ended: "<task id>: <reason its signal gave, or slept>". */
const ended: string[] = [];

const log = createExecutionLog();
const [sleep] = testIntents(log, ["test.sleep"]) as [IntentDefinition<{ ms: number }, never>];

/** The `test.sleep` of the test intents (it stops when its signal aborts), noting when and why its handler ended. */
const watchedSleep: IntentDefinition<{ ms: number }, never> = {
  ...sleep,
  async handle(inputs, ctx) {
    try {
      return await sleep.handle(inputs, ctx);
    } finally {
      ended.push(`${ctx.taskId}: ${ctx.signal.aborted ? (errorDetailOf(ctx.signal.reason as ConnectError)?.reason ?? "?") : "slept"}`);
    }
  },
};

let mesh: TestMesh;
let client: GrpcClient;
let sleeper: GrpcClient;

beforeAll(async () => {
  mesh = await startTestMesh({}, { keeper: ["test.relay"], sleeper: ["test.echo", "test.sleep"] }, riskyEchoPolicy);
  await mesh.startAgent("keeper", testIntents(log, ["test.relay"]));
  const agent = await mesh.startAgent("sleeper", [...testIntents(log, ["test.echo"]), watchedSleep]);
  client = createGrpcClient(mesh.grpcAddress);
  sleeper = createGrpcClient(`127.0.0.1:${agent.grpcPort}`);
});
afterAll(async () => {
  client.close();
  sleeper.close();
  await mesh.stop();
});

let seq = 0;
const id = (p: string) => `${p}-${++seq}`;
const as = async (subject: string, role: Role) => ({ authorization: `Bearer ${await mesh.token(subject, role)}` });
const relay = async (taskId: string, intent: string, inputs: Record<string, unknown>, deadlineMs = 20_000) =>
  client.unary(DelegationService.method.delegate, { taskId, intent: "test.relay", inputs: { intent, inputs: inputs as never }, constraints: { deadline: timestampFromMs(Date.now() + deadlineMs) } }, {
    metadata: await as("alice", "supervisor"), deadline: Date.now() + deadlineMs + 5_000,
  });
const resultAt = async (on: GrpcClient, taskId: string) => on.unary(DelegationService.method.getResult, { taskId }, { metadata: await as("audrey", "auditor") });

/** Polls `read` every 50 ms until `done` holds of its answer (at most 10 s). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in 10 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pending approval of `taskId` at the gateway, once there is one. */
const pendingApproval = (taskId: string) =>
  until(
    async () => (await client.unary(ApprovalService.method.listApprovals, { state: ApprovalState.PENDING }, { metadata: await as("bob", "approver") })).approvals.find((a) => a.taskId === taskId),
    (a) => a !== undefined,
  ).then((a) => a!);

const decide = async (approvalId: string, decision: ApprovalDecision) =>
  client.unary(ApprovalService.method.decide, { approvalId, decision, reason: "read it" }, { metadata: await as("bob", "approver") });

describe("a sub-task held for a human approval", () => {
  it("keeps the parent waiting until it is approved, then the parent completes with the sub-task's final result", async () => {
    const taskId = id("approve");
    const parent = relay(taskId, "test.echo", { text: "risky hello" });
    const approval = await pendingApproval(`${taskId}.child`);
    expect([approval.requestedBy, (await resultAt(client, taskId)).state, log.entries.filter((e) => e.startsWith(taskId))]).toEqual(["keeper", TaskState.WORKING, [taskId]]);
    await decide(approval.approvalId, ApprovalDecision.APPROVE);
    const { result } = await parent;
    expect([result?.state, result?.outputs, result?.subtasks.map((s) => [s.taskId, s.agent, s.state])]).toEqual([
      TaskState.COMPLETED, { child: { text: "risky hello" } }, [[`${taskId}.child`, "sleeper", TaskState.COMPLETED]],
    ]);
    expect(log.entries.filter((e) => e.startsWith(taskId))).toEqual([taskId, `${taskId}.child`]);
  });

  it("hands the parent the sub-task's REJECTED result when the approver denies it", async () => {
    const taskId = id("deny");
    const parent = relay(taskId, "test.echo", { text: "risky claim" });
    await decide((await pendingApproval(`${taskId}.child`)).approvalId, ApprovalDecision.DENY);
    const { result } = await parent;
    expect([result?.state, result?.subtasks.map((s) => [s.state, s.error?.reason, s.error?.message])]).toEqual([
      TaskState.COMPLETED, [[TaskState.REJECTED, "approval_denied", "denied by bob: read it"]],
    ]);
  });

  it("still ends the parent at its deadline; the sub-task keeps waiting for a decision", async () => {
    const taskId = id("deadline");
    const started = Date.now();
    const err = await rejection(relay(taskId, "test.echo", { text: "risky and slow" }, 1_500));
    expect([err.code, errorDetailOf(err)?.reason, Date.now() - started < 4_000]).toEqual([Code.DeadlineExceeded, "deadline_exceeded", true]);
    expect((await resultAt(client, `${taskId}.child`)).state).toBe(TaskState.AWAITING_APPROVAL);
  });
});

describe("canceling a parent task", () => {
  it("cancels its running sub-task through the gateway: CANCELED at the gateway and the worker, and the sub-task's handler stops", async () => {
    const taskId = id("cascade");
    const child = `${taskId}.child`;
    const parent = relay(taskId, "test.sleep", { ms: 10_000 });
    await until(() => resultAt(sleeper, child), (r) => r.state === TaskState.WORKING);
    const started = Date.now();
    const canceled = await client.unary(DelegationService.method.cancel, { taskId, reason: "no longer needed" }, { metadata: await as("alice", "supervisor") });
    expect([canceled.result?.state, canceled.result?.error?.message]).toEqual([TaskState.CANCELED, "no longer needed"]);
    expect((await parent).result?.state).toBe(TaskState.CANCELED);
    const atGateway = await until(() => resultAt(client, child), (r) => r.state === TaskState.CANCELED);
    const atWorker = await until(() => resultAt(sleeper, child), (r) => r.state === TaskState.CANCELED);
    expect([atGateway.error?.message, atWorker.error?.reason, Date.now() - started < 3_000]).toEqual([`parent task ${taskId} was canceled`, "canceled", true]);
    await until(() => Promise.resolve(ended), (e) => e.includes(`${child}: canceled`));
  });

  it("cancels a sub-task that waits for a human: it never runs, and the approval can no longer be given", async () => {
    const taskId = id("cascade-held");
    const child = `${taskId}.child`;
    const parent = relay(taskId, "test.echo", { text: "risky, then canceled" });
    const approval = await pendingApproval(child);
    await client.unary(DelegationService.method.cancel, { taskId, reason: "changed my mind" }, { metadata: await as("alice", "supervisor") });
    expect((await parent).result?.state).toBe(TaskState.CANCELED);
    await until(() => resultAt(client, child), (r) => r.state === TaskState.CANCELED);
    const err = await rejection(decide(approval.approvalId, ApprovalDecision.APPROVE));
    expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.FailedPrecondition, "task_ended"]);
    expect(log.entries.filter((e) => e === child)).toEqual([]);
  });
});
