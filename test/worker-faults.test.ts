/**
 * Faults with real processes: a worker killed with SIGKILL in the middle of a
 * call, a worker restarted, and a worker stopped with SIGTERM while it works.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, errorDetailOf } from "../mesh/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { checkHealth } from "../cli/health-check.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { startTestMesh } from "./support/test-mesh.js";
import { spawnTestWorker, stopChildren, until } from "./support/worker-process.js";
import type { TestMesh } from "./support/test-mesh.js";

let mesh: TestMesh;
let client: GrpcClient;
let token: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  mesh = await startTestMesh({ AGENTMESH_LEASE_TTL_MS: "3000" });
  await mesh.startAgent("echoer", testIntents(createExecutionLog(), ["test.echo"]));
  client = createGrpcClient(mesh.grpcAddress);
  token = await mesh.token();
});
// Workers left running stop gracefully (they deregister), so the next test starts
// with no replica of theirs in the gateway's table; SIGKILL only if one hangs.
afterEach(async () => {
  await stopChildren(children);
});
afterAll(async () => {
  client.close();
  await mesh.stop();
});

const logFile = (name: string) => join(mesh.home, `${name}.log`);
const executions = (name: string, taskId: string) => (existsSync(logFile(name)) ? readFileSync(logFile(name), "utf8").split("\n").filter((l) => l === taskId).length : 0);

/** Starts the test worker as a process and waits until the gateway routes to its new address. */
async function startWorker(name: string): Promise<ChildProcess> {
  const child = await spawnTestWorker(mesh, { name, intents: ["test.sleep"], log: logFile(name), env: { AGENTMESH_DATA_DIR: join(mesh.home, "data", name) } });
  children.push(child);
  return child;
}

const delegate = (taskId: string, ms: number) =>
  client.unary(DelegationService.method.delegate, { taskId, intent: "test.sleep", inputs: { ms } }, { metadata: { authorization: `Bearer ${token}` }, deadline: Date.now() + 20_000 });

describe("a worker killed during a call", () => {
  it("yields UNAVAILABLE, the gateway keeps serving, and a retry with the same task id completes once", async () => {
    const worker = await startWorker("sleeper");
    const taskId = "killed-1";
    const pending = delegate(taskId, 1_500).catch((e: unknown) => e as ConnectError);
    await until(() => executions("sleeper", taskId) === 1, 10_000);
    worker.kill("SIGKILL");
    const err = await pending;
    expect(err).toBeInstanceOf(ConnectError);
    expect([(err as ConnectError).code, errorDetailOf(err as ConnectError)?.reason]).toEqual([Code.Unavailable, "worker_lost"]);
    expect((err as ConnectError).rawMessage).toBe("the worker for test.sleep was lost while it ran the task; retry with the same task id");

    // The gateway keeps serving: healthy, routes other intents, answers for the dead one.
    expect(await checkHealth(mesh.grpcAddress)).toBe(true);
    const echo = await client.unary(DelegationService.method.delegate, { taskId: "still-up", intent: "test.echo", inputs: { text: "ok" } }, { metadata: { authorization: `Bearer ${token}` } });
    expect(echo.result?.outputs).toEqual({ text: "ok" });

    // The replica comes back (same journal); the retry runs the task to the end.
    await startWorker("sleeper");
    const retried = await delegate(taskId, 1_500);
    expect([retried.result?.state, retried.result?.outputs, retried.result?.agent]).toEqual([TaskState.COMPLETED, { slept: 1_500 }, "sleeper"]);
    expect(executions("sleeper", taskId)).toBe(2);

    // Repeating the completed task id returns the stored result without running the handler.
    const repeated = await delegate(taskId, 1_500);
    expect(repeated.result).toEqual(retried.result);
    expect(executions("sleeper", taskId)).toBe(2);
  });

  it("keeps completed results across a worker restart: the worker itself answers a repeat from its journal", async () => {
    const first = await startWorker("keeper");
    const done = await delegate("kept-1", 10);
    expect(done.result?.state).toBe(TaskState.COMPLETED);
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    await startWorker("keeper");
    const address = mesh.gateway.table.pick("test.sleep").find((r) => r.agent === "keeper")!.address;
    const direct = createGrpcClient(address);
    try {
      const again = await direct.unary(DelegationService.method.delegate, { taskId: "kept-1", intent: "test.sleep", inputs: { ms: 10 } }, { metadata: { authorization: `Bearer ${token}` } });
      expect(again.result).toEqual(done.result);
      expect(executions("keeper", "kept-1")).toBe(1);
    } finally {
      direct.close();
    }
  });
});

describe("a worker stopped with SIGTERM", () => {
  it("finishes the call in flight, then refuses new work", async () => {
    const worker = await startWorker("drainer");
    const pending = delegate("drain-1", 800);
    await until(() => executions("drainer", "drain-1") === 1, 10_000);
    const exited = new Promise<number | null>((r) => worker.once("exit", (code) => r(code)));
    worker.kill("SIGTERM");
    const res = await pending;
    expect([res.result?.state, res.result?.outputs]).toEqual([TaskState.COMPLETED, { slept: 800 }]);
    expect(await exited).toBe(0);
    const err = await delegate("drain-2", 10).catch((e: unknown) => e as ConnectError);
    expect([(err as ConnectError).code, errorDetailOf(err as ConnectError)?.reason, (err as ConnectError).rawMessage]).toEqual([
      Code.Unavailable, "no_worker", "no live worker offers intent test.sleep",
    ]);
  });
});
