/**
 * Faults of queued delegation with real processes: worker replicas are separate
 * processes pulling from the queue, on each backend (the embedded queue directory
 * shared on this machine, and a real nats-server with JetStream).
 *
 * - a worker killed with SIGKILL in the middle of a task: the task is redelivered
 *   to another replica after the ack wait, and its effect happens exactly once;
 * - nats-server restarted while tasks are queued: none is lost.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { DelegationMode, TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient } from "../mesh/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { startNatsServer } from "./support/nats-server.js";
import type { TestNatsServer } from "./support/nats-server.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";
import { spawnTestWorker, stopChildren, until } from "./support/worker-process.js";

/** A short ack wait, so a dead replica's task moves on within the test's time. */
const queueEnv = { AGENTMESH_QUEUE_ACK_WAIT_MS: "1500", AGENTMESH_QUEUE_MAX_DELIVERIES: "4", AGENTMESH_QUEUE_BACKOFF_MS: "100", AGENTMESH_QUEUE_MAX_IN_FLIGHT: "2" };

describe.each(["embedded", "nats"] as const)("queued work on the %s backend, with worker processes", (backend) => {
  let nats: TestNatsServer | undefined;
  let mesh: TestMesh;
  let client: GrpcClient;
  let auth: Record<string, string>;
  let effects: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    nats = backend === "nats" ? await startNatsServer() : undefined;
    mesh = await startTestMesh({ ...queueEnv, ...(nats === undefined ? {} : { AGENTMESH_QUEUE: nats.url }) });
    client = createGrpcClient(mesh.grpcAddress);
    auth = { authorization: `Bearer ${await mesh.token("alice", "supervisor")}` };
    effects = join(mesh.home, "effects");
    mkdirSync(effects);
  }, 60_000);
  afterEach(async () => {
    await stopChildren(children);
  });
  afterAll(async () => {
    client.close();
    await mesh.stop();
    await nats?.stop();
  });

  const logOf = (instance: string) => join(mesh.home, `${instance}.log`);
  const lines = (file: string, taskId: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l === taskId).length : 0);
  const startReplica = async (instanceId: string) => {
    const child = await spawnTestWorker(mesh, { name: "twin", instanceId, intents: ["test.effect"], log: logOf(instanceId), effects });
    children.push(child);
    return child;
  };
  const queue = (taskId: string, ms: number) =>
    client.unary(DelegationService.method.delegate, { taskId, intent: "test.effect", inputs: { ms }, mode: DelegationMode.QUEUED }, { metadata: auth, deadline: Date.now() + 10_000 });
  const stateOf = async (taskId: string) => (await client.unary(DelegationService.method.getResult, { taskId }, { metadata: auth })).state;

  it("redelivers the task of a replica killed mid-task to another one, and applies its effect exactly once", async () => {
    const replicas = { a: await startReplica(`${backend}-a`), b: await startReplica(`${backend}-b`) };
    const taskId = `${backend}-killed-1`;
    expect([TaskState.QUEUED, TaskState.WORKING]).toContain((await queue(taskId, 3_000)).result?.state);
    await until(() => lines(logOf(`${backend}-a`), taskId) + lines(logOf(`${backend}-b`), taskId) === 1, 15_000);
    // Kill whichever replica took the task, in the middle of it.
    const [taken, other] = lines(logOf(`${backend}-a`), taskId) === 1 ? ["a", "b"] as const : ["b", "a"] as const;
    replicas[taken].kill("SIGKILL");
    await until(async () => (await stateOf(taskId)) === TaskState.COMPLETED, 30_000);
    const result = await client.unary(DelegationService.method.getResult, { taskId }, { metadata: auth });
    expect([result.state, result.agent, result.outputs]).toEqual([TaskState.COMPLETED, "twin", { applied: true }]);
    // Started on both replicas (the first was killed before its effect), applied once.
    expect([lines(logOf(`${backend}-${taken}`), taskId), lines(logOf(`${backend}-${other}`), taskId)]).toEqual([1, 1]);
    expect(lines(join(effects, "effects"), taskId)).toBe(1);
  }, 60_000);

  it.runIf(backend === "nats")("loses no queued task when nats-server restarts while they wait", async () => {
    await startReplica(`${backend}-c`);
    const ids = Array.from({ length: 6 }, (_, n) => `${backend}-restart-${n}`);
    // Accepted at once: still queued, or already taken by the replica.
    for (const id of ids) expect([TaskState.QUEUED, TaskState.WORKING]).toContain((await queue(id, 300)).result?.state);
    await nats!.restart();
    await until(async () => (await Promise.all(ids.map(stateOf))).every((s) => s === TaskState.COMPLETED), 45_000);
    for (const id of ids) expect(lines(join(effects, "effects"), id)).toBe(1);
  }, 60_000);
});
