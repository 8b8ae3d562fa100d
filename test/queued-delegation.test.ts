/**
 * Queued delegation end to end, on each backend: a real gateway and real agents
 * in this process, sharing the queue directory of the test mesh's home (embedded)
 * or a real nats-server with JetStream (nats).
 * Delegate with mode QUEUED answers at once; worker replicas pull, run and ack;
 * GetResult, WatchResult, Cancel and the QueueService follow the task.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { QueueService } from "../gen/agentmesh/v1/queue_pb.js";
import { DelegationMode, ResultSchema, TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { DelegateRequestSchema, DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import {
  advanceSharedRecord, createGrpcClient, createHopTokenIssuer, delegateRequestDigest, emptyChain, encodeSharedRecord, errorDetailOf, forwardedCallerHeader, forwardedRoleHeader,
  loadSigningKey, requestFingerprint, sharedTaskKey,
} from "../mesh/index.js";
import { openQueueBackend } from "../mesh/queue/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import type { ExecutionLog } from "./support/test-intents.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";
import { startNatsServer } from "./support/nats-server.js";
import type { TestNatsServer } from "./support/nats-server.js";

const queueEnv = { AGENTMESH_QUEUE_ACK_WAIT_MS: "2000", AGENTMESH_QUEUE_MAX_DELIVERIES: "3", AGENTMESH_QUEUE_BACKOFF_MS: "50", AGENTMESH_QUEUE_MAX_IN_FLIGHT: "1" };

describe.each(["embedded", "nats"] as const)("queued delegation (%s backend)", (backend) => {
  let mesh: TestMesh;
  let client: GrpcClient;
  let alice: Record<string, string>;
  let log: ExecutionLog;
  let nats: TestNatsServer | undefined;

  beforeAll(async () => {
    nats = backend === "nats" ? await startNatsServer() : undefined;
    mesh = await startTestMesh({ ...queueEnv, ...(nats === undefined ? {} : { AGENTMESH_QUEUE: nats.url }) });
    log = createExecutionLog();
    await mesh.startAgent("worker-a", testIntents(log));
    client = createGrpcClient(mesh.grpcAddress);
    alice = { authorization: `Bearer ${await mesh.token("alice", "supervisor")}` };
  }, 60_000);
  afterAll(async () => {
    client.close();
    await mesh.stop();
    await nats?.stop();
  });

  const queue = (taskId: string, intent: string, inputs: Record<string, unknown>, metadata = alice) =>
    client.unary(DelegationService.method.delegate, { taskId, intent, inputs: inputs as never, mode: DelegationMode.QUEUED }, { metadata, deadline: Date.now() + 10_000 });
  const getResult = (taskId: string, metadata = alice) => client.unary(DelegationService.method.getResult, { taskId }, { metadata, deadline: Date.now() + 5_000 });

  /** Waits until the task reaches a terminal state (through WatchResult) and returns every state it passed. */
  async function follow(taskId: string): Promise<{ states: TaskState[]; result: Result }> {
    const states: TaskState[] = [];
    let result: Result | undefined;
    for await (const ev of client.serverStream(DelegationService.method.watchResult, { taskId }, { metadata: alice, deadline: Date.now() + 30_000 })) {
      states.push(ev.state);
      result = ev.result;
    }
    return { states, result: result! };
  }

  const runs = (taskId: string) => log.entries.filter((e) => e === taskId).length;

    it("answers at once with QUEUED, then a worker runs the task to COMPLETED", async () => {
      const res = await queue("q-echo-1", "test.echo", { text: "hello" });
      expect(res.result?.state).toBe(TaskState.QUEUED);
      const { states, result } = await follow("q-echo-1");
      expect(states.at(-1)).toBe(TaskState.COMPLETED);
      expect(result.outputs).toEqual({ text: "hello" });
      expect(result.agent).toBe("worker-a");
      expect((await getResult("q-echo-1")).state).toBe(TaskState.COMPLETED);
      expect(runs("q-echo-1")).toBe(1);
    });

    it("runs a task delegated twice with the same id once", async () => {
      const [a, b] = await Promise.all([queue("q-dup-1", "test.echo", { text: "x" }), queue("q-dup-1", "test.echo", { text: "x" })]);
      // Each answer is the task's snapshot when it was given: queued, or already taken by the worker.
      for (const r of [a, b]) expect([TaskState.QUEUED, TaskState.WORKING, TaskState.COMPLETED]).toContain(r.result?.state);
      await follow("q-dup-1");
      const again = await queue("q-dup-1", "test.echo", { text: "x" });
      expect(again.result?.state).toBe(TaskState.COMPLETED);
      expect(runs("q-dup-1")).toBe(1);
    });

    it("refuses the same id for a different request with ALREADY_EXISTS", async () => {
      await queue("q-conflict-1", "test.echo", { text: "one" });
      const err = await queue("q-conflict-1", "test.echo", { text: "two" }).catch((e: unknown) => e as ConnectError);
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.AlreadyExists);
      await follow("q-conflict-1");
    });

    it("cancels a task still waiting on the queue (it never runs) and one already running", async () => {
      // One task at a time per intent on this replica: the second waits behind the first.
      await queue("q-running-1", "test.sleep", { ms: 20_000 });
      await queue("q-waiting-1", "test.sleep", { ms: 10 });
      await waitFor(() => runs("q-running-1") === 1);
      const waiting = await client.unary(DelegationService.method.cancel, { taskId: "q-waiting-1", reason: "not needed" }, { metadata: alice });
      expect(waiting.result?.state).toBe(TaskState.CANCELED);
      const running = await client.unary(DelegationService.method.cancel, { taskId: "q-running-1", reason: "stop" }, { metadata: alice });
      expect(running.result?.state).toBe(TaskState.CANCELED);
      const { result } = await follow("q-running-1");
      expect(result.state).toBe(TaskState.CANCELED);
      // The worker moves on: the canceled waiting task is acked without running.
      await queue("q-after-cancel", "test.echo", { text: "next" });
      await follow("q-after-cancel");
      expect(runs("q-waiting-1")).toBe(0);
      expect((await getResult("q-waiting-1")).state).toBe(TaskState.CANCELED);
    }, 30_000);

    it("ends a non-retryable failure at once, without retries", async () => {
      await queue("q-invalid-1", "test.fail", { code: "InvalidArgument" });
      const { result } = await follow("q-invalid-1");
      expect(result.state).toBe(TaskState.FAILED);
      expect(result.error?.reason).toBe("test_failure");
      expect(runs("q-invalid-1")).toBe(1);
    });

    it("retries a retryable failure, dead-letters it after the last attempt with every reason, and re-drives it", async () => {
      await queue("q-poison-1", "test.fail", { code: "Unavailable" });
      const { result } = await follow("q-poison-1");
      expect(result.state).toBe(TaskState.FAILED);
      expect(result.error?.reason).toBe("dead_lettered");
      expect(result.error?.message).toBe("dead-lettered after 3 attempt(s): failing with Unavailable as asked; failing with Unavailable as asked; failing with Unavailable as asked");
      expect(runs("q-poison-1")).toBe(3);

      const dlq = await client.unary(QueueService.method.listDeadLetters, {}, { metadata: alice });
      const letter = dlq.deadLetters.find((d) => d.taskId === "q-poison-1");
      expect(letter).toMatchObject({ intent: "test.fail", owner: "alice", attempts: 3, errors: Array(3).fill("failing with Unavailable as asked") });

      // Only its owner re-drives it; another caller does not even see it.
      const bob = { authorization: `Bearer ${await mesh.token("bob", "supervisor")}` };
      const refused = await client.unary(QueueService.method.retryDeadLetter, { taskId: "q-poison-1" }, { metadata: bob }).catch((e: unknown) => e as ConnectError);
      expect((refused as ConnectError).code).toBe(Code.NotFound);
      const retried = await client.unary(QueueService.method.retryDeadLetter, { taskId: "q-poison-1" }, { metadata: alice });
      expect(retried.result?.state).toBe(TaskState.QUEUED);
      await waitFor(() => runs("q-poison-1") === 6);
      await waitFor(async () => (await getResult("q-poison-1")).state === TaskState.FAILED);
    }, 30_000);

    it("follows a re-driven task to its new outcome at the gateway", async () => {
      // Fails on its first four runs: three attempts go to the dead-letter queue, the re-drive's second one answers.
      await queue("q-flaky-1", "test.flaky", { failures: 4 });
      expect((await follow("q-flaky-1")).result.error?.reason).toBe("dead_lettered");
      await client.unary(QueueService.method.retryDeadLetter, { taskId: "q-flaky-1" }, { metadata: alice });
      await waitFor(async () => (await getResult("q-flaky-1")).state === TaskState.COMPLETED);
      expect((await getResult("q-flaky-1")).outputs).toEqual({ runs: 5 });
      expect(runs("q-flaky-1")).toBe(5);
    }, 30_000);

    it("refuses to re-drive a task that is not dead-lettered", async () => {
      const err = await client.unary(QueueService.method.retryDeadLetter, { taskId: "q-echo-1" }, { metadata: alice }).catch((e: unknown) => e as ConnectError);
      expect([(err as ConnectError).code, errorDetailOf(err as ConnectError)?.reason]).toEqual([Code.NotFound, "dead_letter_not_found"]);
    });

    it("refuses to re-drive a dead letter whose task ended otherwise (its worker recorded an outcome, then died before the ack)", async () => {
      await queue("q-ended-1", "test.fail", { code: "Unavailable" });
      expect((await follow("q-ended-1")).result.error?.reason).toBe("dead_lettered");
      const backendHandle = await openQueueBackend({ url: nats?.url, dir: join(mesh.home, "queue") });
      await advanceSharedRecord(backendHandle.store, "q-ended-1", (cur) => ({ ...cur, result: create(ResultSchema, { ...cur.result, state: TaskState.COMPLETED, error: undefined }) }), { reopen: true });
      await backendHandle.close();
      const err = await client.unary(QueueService.method.retryDeadLetter, { taskId: "q-ended-1" }, { metadata: alice }).catch((e: unknown) => e as ConnectError);
      expect([(err as ConnectError).code, errorDetailOf(err as ConnectError)?.reason, (err as ConnectError).rawMessage]).toEqual([
        Code.FailedPrecondition, "task_ended", "task q-ended-1 already ended completed; it is not run again",
      ]);
      expect(runs("q-ended-1")).toBe(3);
    }, 30_000);

    it("queues a task whose record was written but whose enqueue was lost, when the caller retries", async () => {
      // What a gateway that stopped between the record and the enqueue leaves behind.
      const store = await openQueueBackend({ url: nats?.url, dir: join(mesh.home, "queue") });
      const req = create(DelegateRequestSchema, { taskId: "q-lost-1", intent: "test.echo", inputs: { text: "again" }, mode: DelegationMode.QUEUED });
      await store.store.create(sharedTaskKey("q-lost-1"), encodeSharedRecord({
        owner: "alice", fingerprint: requestFingerprint("alice", req),
        result: create(ResultSchema, { taskId: "q-lost-1", intent: "test.echo", agent: "gateway", state: TaskState.QUEUED }),
      }));
      await store.close();
      await queue("q-lost-1", "test.echo", { text: "again" });
      const { result } = await follow("q-lost-1");
      expect([result.state, result.outputs]).toEqual([TaskState.COMPLETED, { text: "again" }]);
      expect(runs("q-lost-1")).toBe(1);
    });

    it("refuses a queued task's token for another request or under another caller's name", async () => {
      const hopToken = createHopTokenIssuer(await loadSigningKey(join(mesh.home, "keys", "signing-key.jwk.json")), { subject: "gateway" });
      const asked = create(DelegateRequestSchema, { taskId: "q-forge-1", intent: "test.echo", inputs: { text: "asked" }, mode: DelegationMode.SYNC });
      const token = await hopToken("worker-a", { chain: emptyChain, taskId: "q-forge-1", intent: "test.echo", caller: { subject: "alice", role: "supervisor" }, request: delegateRequestDigest(asked) }, undefined);
      const worker = createGrpcClient(`127.0.0.1:${mesh.agents[0]!.grpcPort}`);
      try {
        const forged = { ...asked, inputs: { text: "forged" } };
        const err = await worker.unary(DelegationService.method.delegate, forged, { metadata: { authorization: `Bearer ${token}` } }).catch((e: unknown) => e as ConnectError);
        expect([(err as ConnectError).code, errorDetailOf(err as ConnectError)?.reason]).toEqual([Code.Unauthenticated, "token_invalid"]);
        // The caller comes from the token: headers naming another caller are ignored.
        const res = await worker.unary(DelegationService.method.delegate, asked, { metadata: { authorization: `Bearer ${token}`, [forwardedCallerHeader]: "mallory", [forwardedRoleHeader]: "supervisor" } });
        expect(res.result?.state).toBe(TaskState.COMPLETED);
        // The task is alice's on the worker: she reads it there.
        const asOwner = await worker.unary(DelegationService.method.getResult, { taskId: "q-forge-1" }, { metadata: alice });
        expect(asOwner.state).toBe(TaskState.COMPLETED);
      } finally {
        worker.close();
      }
    });

    it("lists the caller's queued tasks only", async () => {
      const mine = await client.unary(QueueService.method.listTasks, { intent: "test.echo" }, { metadata: alice });
      expect(mine.tasks.map((t) => t.result?.taskId)).toContain("q-echo-1");
      expect(mine.tasks.every((t) => t.owner === "alice")).toBe(true);
      const bob = { authorization: `Bearer ${await mesh.token("bob", "supervisor")}` };
      const theirs = await client.unary(QueueService.method.listTasks, {}, { metadata: bob });
      expect(theirs.tasks).toEqual([]);
      const err = await getResult("q-echo-1", bob).catch((e: unknown) => e as ConnectError);
      expect(errorDetailOf(err as ConnectError)?.reason).toBe("not_task_owner");
    });
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
