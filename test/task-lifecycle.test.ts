/**
 * A task's execution belongs to the task, not to the call that started it: the
 * caller going away, a joined duplicate, a deadline the handler ignores, a parent
 * retried with a new deadline, and who may cancel. Real gateway and worker on
 * loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequestSchema } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, defineIntent, errorDetailOf } from "../mesh/index.js";
import type { GrpcClient, IntentDefinition } from "../mesh/index.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { rejection } from "./support/rejection.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

let mesh: TestMesh;
let client: GrpcClient;
let token: string;
const log = createExecutionLog();

/** `test.stubborn`: sleeps `ms` and ignores cancellation and deadlines, like a careless handler. */
const stubborn = defineIntent<{ ms: number }, { slept: number }>({
  name: "test.stubborn",
  description: "Sleeps without looking at its signal.",
  inputSchema: { type: "object", required: ["ms"], properties: { ms: { type: "integer", minimum: 0, maximum: 10_000 } } },
  outputSchema: { type: "object" },
  tools: [],
  requiredScopes: [],
  async handle(inputs, ctx) {
    log.entries.push(ctx.taskId);
    await new Promise((resolve) => setTimeout(resolve, inputs.ms));
    return { outputs: { slept: inputs.ms }, rationale: "slept, whatever happened meanwhile", evidence: [], confidence: 1, toolCalls: 0 };
  },
});

beforeAll(async () => {
  mesh = await startTestMesh();
  await mesh.startAgent("worker-a", [...testIntents(log), stubborn as IntentDefinition<never, never>]);
  client = createGrpcClient(mesh.grpcAddress);
  token = await mesh.token();
});

afterAll(async () => {
  client.close();
  await mesh.stop();
});

type Req = MessageInitShape<typeof DelegateRequestSchema>;
let seq = 0;
const id = (p: string) => `${p}-${++seq}-${Date.now()}`;
const auth = (t = token) => ({ authorization: `Bearer ${t}` });
const runs = (taskId: string) => log.entries.filter((e) => e === taskId).length;

function delegate(req: Req, options: { deadlineMs?: number; signal?: AbortSignal } = {}) {
  return client.unary(DelegationService.method.delegate, req, {
    metadata: auth(),
    deadline: Date.now() + (options.deadlineMs ?? 10_000),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}


describe("the caller going away", () => {
  it("does not stop the task: a duplicate that joined it gets the completed result, and it ran once", async () => {
    const req = { taskId: id("leave"), intent: "test.sleep", inputs: { ms: 600 } };
    const first = new AbortController();
    const leaving = rejection(delegate(req, { signal: first.signal }));
    await new Promise((r) => setTimeout(r, 100));
    const staying = delegate(req);
    await new Promise((r) => setTimeout(r, 100));
    first.abort();
    expect((await leaving).code).toBe(Code.Canceled);
    const res = await staying;
    expect([res.result?.state, res.result?.outputs]).toEqual([TaskState.COMPLETED, { slept: 600 }]);
    expect(runs(req.taskId)).toBe(1);
  });

  it("lets the task finish after its caller left, so GetResult reads the result", async () => {
    const req = { taskId: id("gone"), intent: "test.sleep", inputs: { ms: 300 } };
    const first = new AbortController();
    const leaving = rejection(delegate(req, { signal: first.signal }));
    await new Promise((r) => setTimeout(r, 80));
    first.abort();
    await leaving;
    await new Promise((r) => setTimeout(r, 500));
    const read = await client.unary(DelegationService.method.getResult, { taskId: req.taskId }, { metadata: auth() });
    expect([read.state, read.outputs]).toEqual([TaskState.COMPLETED, { slept: 300 }]);
    expect(runs(req.taskId)).toBe(1);
  });
});

describe("a handler that ignores its deadline", () => {
  it("answers DEADLINE_EXCEEDED at the deadline, keeps the claim until the handler ends, and never runs it twice", async () => {
    const taskId = id("stubborn");
    const req = (deadlineInMs: number): Req => ({
      taskId,
      intent: "test.stubborn",
      inputs: { ms: 900 },
      constraints: { deadline: timestampFromMs(Date.now() + deadlineInMs) },
    });
    const t0 = Date.now();
    const err = await rejection(delegate(req(250)));
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([Code.DeadlineExceeded, "the task's deadline passed before it finished", "deadline_exceeded"]);
    expect(Date.now() - t0).toBeLessThan(800);
    // The retry carries a new deadline and is still the same task: it waits for
    // the running handler instead of starting a second one.
    const retry = await delegate(req(5_000));
    expect([retry.result?.state, retry.result?.outputs]).toEqual([TaskState.COMPLETED, { slept: 900 }]);
    expect(runs(taskId)).toBe(1);
  });
});

describe("retrying a parent", () => {
  it("treats its child with a new deadline as the same task (no ALREADY_EXISTS), and runs the child again after a retryable failure", async () => {
    const taskId = id("parent");
    const req = (deadlineInMs: number): Req => ({
      taskId,
      intent: "test.relay",
      inputs: { intent: "test.fail", inputs: { code: "Unavailable" } },
      constraints: { deadline: timestampFromMs(Date.now() + deadlineInMs) },
    });
    const first = await rejection(delegate(req(8_000)));
    expect([first.code, errorDetailOf(first)?.reason]).toEqual([Code.Unavailable, "test_failure"]);
    const second = await rejection(delegate(req(9_000)));
    expect([second.code, errorDetailOf(second)?.reason]).toEqual([Code.Unavailable, "test_failure"]);
    expect(runs(taskId)).toBe(2);
    expect(runs(`${taskId}.child`)).toBe(2);
  });

  it("returns a completed task's stored result even after its deadline passed", async () => {
    const taskId = id("late");
    const deadline = timestampFromMs(Date.now() + 400);
    const req: Req = { taskId, intent: "test.echo", inputs: { text: "on time" }, constraints: { deadline } };
    const first = await delegate(req);
    await new Promise((r) => setTimeout(r, 500));
    const again = await delegate(req);
    expect(again.result).toEqual(first.result);
    expect(runs(taskId)).toBe(1);
  });
});

describe("cancel", () => {
  it("is refused to an auditor, who may still read the task; the owner cancels it", async () => {
    const req = { taskId: id("cancel"), intent: "test.sleep", inputs: { ms: 5_000 } };
    const running = delegate(req);
    await new Promise((r) => setTimeout(r, 150));
    const auditor = await mesh.token("audrey", "auditor");
    const denied = await rejection(client.unary(DelegationService.method.cancel, { taskId: req.taskId, reason: "no" }, { metadata: auth(auditor) }));
    expect([denied.code, denied.rawMessage, errorDetailOf(denied)?.reason]).toEqual([
      Code.PermissionDenied, `task ${req.taskId} may be canceled only by the caller that delegated it`, "not_task_owner",
    ]);
    const read = await client.unary(DelegationService.method.getResult, { taskId: req.taskId }, { metadata: auth(auditor) });
    expect(read.state).toBe(TaskState.WORKING);
    const canceled = await client.unary(DelegationService.method.cancel, { taskId: req.taskId, reason: "changed my mind" }, { metadata: auth() });
    expect([canceled.result?.state, canceled.result?.error?.message]).toEqual([TaskState.CANCELED, "changed my mind"]);
    const res = await running;
    expect(res.result?.state).toBe(TaskState.CANCELED);
    // The cancellation reached the worker too.
    const agent = mesh.agents[0]!;
    const workerSide = await createGrpcClient(`127.0.0.1:${agent.grpcPort}`).unary(DelegationService.method.getResult, { taskId: req.taskId }, { metadata: auth() });
    expect(workerSide.state).toBe(TaskState.CANCELED);
  });
});

