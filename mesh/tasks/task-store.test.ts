import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResultSchema, TaskErrorSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import { errorDetailOf } from "../errors.js";
import { createFileTaskJournal } from "./task-journal.js";
import type { TaskJournal } from "./task-journal.js";
import { createTaskStore } from "./task-store.js";
import type { BeginOutcome, TaskStore } from "./task-store.js";

const createdAt = timestampFromMs(Date.UTC(2025, 0, 2, 3, 4, 5));

/** A snapshot of task `taskId` in `state`, like the ones `initialResult` and the handlers build. */
function result(taskId: string, state: TaskState, init: MessageInitShape<typeof ResultSchema> = {}): Result {
  return create(ResultSchema, {
    taskId,
    correlationId: `corr-${taskId}`,
    intent: "copy.draft",
    agent: "copywriter",
    state,
    depth: 1,
    createdAt,
    updatedAt: createdAt,
    ...init,
  });
}

const submitted = (taskId: string) => result(taskId, TaskState.SUBMITTED);
const completed = (taskId: string) => result(taskId, TaskState.COMPLETED, { outputs: { headline: "Fast, safe delegation" }, confidence: 0.9 });
const failed = (taskId: string, retryable: boolean) =>
  result(taskId, TaskState.FAILED, {
    error: create(TaskErrorSchema, { code: retryable ? "unavailable" : "invalid_argument", message: "downstream failed", retryable, reason: "test_failure" }),
  });

const claim = (store: TaskStore, taskId: string, fingerprint = "fp-1") =>
  store.begin({ taskId, fingerprint, owner: "supervisor", initial: submitted(taskId) });

function expectStarted(outcome: BeginOutcome): AbortSignal {
  expect(outcome.kind).toBe("started");
  if (outcome.kind !== "started") throw new Error("unreachable");
  return outcome.signal;
}

async function connectErrorOf(fn: () => unknown): Promise<ConnectError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("expected a ConnectError, but nothing was thrown");
}

describe("createTaskStore", () => {
  it("starts a new task and records it as running and unsettled", () => {
    const store = createTaskStore();
    const signal = expectStarted(claim(store, "t-1"));
    expect(signal.aborted).toBe(false);
    expect(store.get("t-1")).toEqual({ taskId: "t-1", fingerprint: "fp-1", owner: "supervisor", result: submitted("t-1"), settled: false });
    expect(store.get("t-2")).toBeUndefined();
  });

  it("joins an identical request while the task runs, and resolves it with the finished result", async () => {
    const store = createTaskStore();
    expectStarted(claim(store, "t-1"));
    const second = claim(store, "t-1");
    expect(second.kind).toBe("joined");
    if (second.kind !== "joined") throw new Error("unreachable");
    await store.finish("t-1", completed("t-1"));
    await expect(second.done).resolves.toEqual(completed("t-1"));
  });

  it("returns the result of a finished task to an identical request", async () => {
    const store = createTaskStore();
    expectStarted(claim(store, "t-1"));
    await store.finish("t-1", completed("t-1"));
    expect(claim(store, "t-1")).toEqual({ kind: "finished", result: completed("t-1") });
    expect(store.get("t-1")?.settled).toBe(true);
  });

  it.each<[string, boolean]>([
    ["running", false],
    ["finished", true],
  ])("throws ALREADY_EXISTS task_id_conflict for a different request with the id of a %s task", async (_name, finish) => {
    const store = createTaskStore();
    expectStarted(claim(store, "t-1"));
    if (finish) await store.finish("t-1", completed("t-1"));
    const err = await connectErrorOf(() => claim(store, "t-1", "fp-other"));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.rawMessage).toBe("task id t-1 was already used for a different request; choose a new task id");
    const detail = errorDetailOf(err);
    expect(detail?.reason).toBe("task_id_conflict");
    expect(detail?.metadata).toEqual({ task_id: "t-1" });
  });

  it("runs a released task again on the next identical request, after showing the failure and failing joiners with the same error", async () => {
    const store = createTaskStore();
    expectStarted(claim(store, "t-1"));
    const joined = claim(store, "t-1");
    if (joined.kind !== "joined") throw new Error(`expected joined, got ${joined.kind}`);
    const error = new ConnectError("worker gone", Code.Unavailable);
    store.release("t-1", failed("t-1", true), error);
    await expect(joined.done).rejects.toBe(error);
    expect(store.get("t-1")).toEqual({ taskId: "t-1", fingerprint: "fp-1", owner: "supervisor", result: failed("t-1", true), settled: false });
    expectStarted(claim(store, "t-1"));
    expect(store.get("t-1")?.result).toEqual(submitted("t-1"));
  });

  it.each<[string, BeginOutcome["kind"], Result]>([
    ["a retryable failure", "started", failed("t-1", true)],
    ["a non-retryable failure", "finished", failed("t-1", false)],
    ["a completion", "finished", completed("t-1")],
    ["a rejection", "finished", result("t-1", TaskState.REJECTED)],
  ])("after %s the next identical request is %s", async (_name, kind, final) => {
    const store = createTaskStore();
    expectStarted(claim(store, "t-1"));
    await store.finish("t-1", final);
    const next = claim(store, "t-1");
    expect(next.kind).toBe(kind);
    if (next.kind === "finished") expect(next.result).toEqual(final);
  });

  it("keeps the first terminal result when a finished task is finished again", async () => {
    const store = createTaskStore();
    expectStarted(claim(store, "t-1"));
    await store.finish("t-1", completed("t-1"));
    await store.finish("t-1", failed("t-1", false));
    expect(store.get("t-1")?.result).toEqual(completed("t-1"));
  });

  it("cancels a running task: aborts its signal, resolves joiners with CANCELED and ignores a later finish", async () => {
    const store = createTaskStore();
    const signal = expectStarted(claim(store, "t-1"));
    const joined = claim(store, "t-1");
    if (joined.kind !== "joined") throw new Error(`expected joined, got ${joined.kind}`);

    const canceled = await store.cancel("t-1", "the campaign was withdrawn");
    const expected = result("t-1", TaskState.CANCELED, {
      error: create(TaskErrorSchema, { code: "canceled", message: "the campaign was withdrawn", retryable: false, reason: "canceled" }),
      updatedAt: canceled.updatedAt,
    });
    expect(canceled).toEqual(expected);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(ConnectError);
    const reason = signal.reason as ConnectError;
    expect([reason.code, reason.rawMessage, errorDetailOf(reason)?.reason]).toEqual([Code.Canceled, "task canceled", "canceled"]);
    await expect(joined.done).resolves.toEqual(expected);

    await store.finish("t-1", completed("t-1"));
    expect(store.get("t-1")).toEqual({ taskId: "t-1", fingerprint: "fp-1", owner: "supervisor", result: expected, settled: true });
    expect(claim(store, "t-1")).toEqual({ kind: "finished", result: expected });
  });

  it("cancels with the default message when no reason is given", async () => {
    const store = createTaskStore();
    expectStarted(claim(store, "t-1"));
    const canceled = await store.cancel("t-1", "");
    expect(canceled.error).toEqual(create(TaskErrorSchema, { code: "canceled", message: "canceled by the delegator", retryable: false, reason: "canceled" }));
  });

  it("returns a terminal task unchanged when asked to cancel it", async () => {
    const store = createTaskStore();
    expectStarted(claim(store, "t-1"));
    await store.finish("t-1", completed("t-1"));
    const before = store.get("t-1")?.result;
    expect(await store.cancel("t-1", "too late")).toBe(before);
    expect(store.get("t-1")?.result).toEqual(completed("t-1"));
  });

  it("throws NOT_FOUND task_not_found when cancelling an unknown task", async () => {
    const err = await connectErrorOf(() => createTaskStore().cancel("nope", "why not"));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe("no task with id nope");
    expect(errorDetailOf(err)?.reason).toBe("task_not_found");
  });

  it("stops a task that failed retryably for good when it is canceled: the next identical request does not run it", async () => {
    const store = createTaskStore();
    expectStarted(claim(store, "t-1"));
    store.release("t-1", failed("t-1", true), new ConnectError("gone", Code.Unavailable));
    const canceled = await store.cancel("t-1", "stop it");
    expect([canceled.state, canceled.error?.reason]).toEqual([TaskState.CANCELED, "canceled"]);
    expect(claim(store, "t-1")).toEqual({ kind: "finished", result: canceled });
  });

  it("remembers a Cancel that overtook its Delegate: the owner's Delegate finds it canceled, another caller's is refused", async () => {
    const store = createTaskStore();
    const canceled = await store.cancel("t-1", "changed my mind", "supervisor");
    expect(canceled.state).toBe(TaskState.CANCELED);
    expect(claim(store, "t-1", "fp-any")).toEqual({ kind: "finished", result: canceled });
    const err = await connectErrorOf(() => Promise.resolve(store.begin({ taskId: "t-1", fingerprint: "fp-any", owner: "mallory", initial: submitted("t-1") })));
    expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.AlreadyExists, "task_id_conflict"]);
  });

  it("answers, publishes and settles a finished or canceled task even when the journal cannot write", async () => {
    const broken = { replay: () => [], append: () => Promise.reject(new Error("disk full")), defer: () => undefined, close: () => Promise.resolve() };
    const store = createTaskStore(broken);
    const seen: TaskState[] = [];
    store.watch("t-1", (r) => seen.push(r.state));
    store.watch("t-2", (r) => seen.push(r.state));
    expectStarted(claim(store, "t-1"));
    const joined = claim(store, "t-1");
    await store.finish("t-1", completed("t-1"));
    if (joined.kind !== "joined") throw new Error("expected joined");
    await expect(joined.done).resolves.toEqual(completed("t-1"));
    const signal = expectStarted(claim(store, "t-2"));
    await store.cancel("t-2", "stop");
    expect(signal.aborted).toBe(true);
    expect(seen).toEqual([TaskState.SUBMITTED, TaskState.COMPLETED, TaskState.SUBMITTED, TaskState.CANCELED]);
    await store.idle();
  });

  it("sends every snapshot of a task to its watchers until they stop watching", async () => {
    const store = createTaskStore();
    const stopped: Result[] = [];
    const staying: Result[] = [];
    const other: Result[] = [];
    const stop = store.watch("t-1", (r) => stopped.push(r));
    store.watch("t-1", (r) => staying.push(r));
    store.watch("t-2", (r) => other.push(r));
    expectStarted(claim(store, "t-1"));
    const working = result("t-1", TaskState.WORKING);
    store.update("t-1", working);
    stop();
    await store.finish("t-1", completed("t-1"));
    // A terminal task takes no more updates, so watchers see nothing further.
    store.update("t-1", result("t-1", TaskState.WORKING));

    expect(stopped).toEqual([submitted("t-1"), working]);
    expect(staying).toEqual([submitted("t-1"), working, completed("t-1")]);
    expect(other).toEqual([]);
  });

  it("idle() waits for running executions to end", async () => {
    const store = createTaskStore();
    await store.idle();
    expectStarted(claim(store, "t-1"));
    expectStarted(claim(store, "t-2"));
    let idle = false;
    const waiting = store.idle().then(() => (idle = true));
    await store.finish("t-1", completed("t-1"));
    await Promise.resolve();
    expect(idle).toBe(false);
    store.release("t-2", failed("t-2", true), new ConnectError("gone", Code.Unavailable));
    await waiting;
    expect(idle).toBe(true);
  });

  it("ignores update, finish and release of an unknown task", async () => {
    const store = createTaskStore();
    store.update("t-9", completed("t-9"));
    await store.finish("t-9", completed("t-9"));
    store.release("t-9", failed("t-9", true), new ConnectError("gone", Code.Unavailable));
    expect(store.get("t-9")).toBeUndefined();
  });
});

describe("createTaskStore with a file journal", () => {
  let dir: string;
  let path: string;
  const journals: TaskJournal[] = [];
  const journal = () => {
    const j = createFileTaskJournal(path);
    journals.push(j);
    return j;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "task-store-"));
    path = join(dir, "state", "tasks.jsonl");
  });
  afterEach(async () => {
    await Promise.all(journals.splice(0).map((j) => j.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers a completed task from the journal after a restart, without running it again", async () => {
    const first = journal();
    const before = createTaskStore(first);
    expectStarted(claim(before, "t-1"));
    await before.finish("t-1", completed("t-1"));
    await first.close();

    const after = createTaskStore(journal());
    expect(after.get("t-1")).toEqual({ taskId: "t-1", fingerprint: "fp-1", owner: "supervisor", result: completed("t-1"), settled: true });
    expect(claim(after, "t-1")).toEqual({ kind: "finished", result: completed("t-1") });
  });

  it("recovers from a failed write: that append fails, later appends are written", async () => {
    const j = journal();
    const record = (taskId: string) => ({ taskId, fingerprint: "fp-1", owner: "supervisor", result: completed(taskId), settled: true });
    // Make the journal path unwritable (a directory), then writable again.
    rmSync(path);
    mkdirSync(path);
    await expect(j.append(record("t-1"))).rejects.toThrow(/EISDIR/);
    rmSync(path, { recursive: true });
    writeFileSync(path, "");
    await j.append(record("t-2"));
    await j.append(record("t-3"));
    expect(createFileTaskJournal(path).replay().map((r) => r.taskId)).toEqual(["t-2", "t-3"]);
  });

  it("keeps a canceled task canceled after a restart", async () => {
    const first = journal();
    const before = createTaskStore(first);
    expectStarted(claim(before, "t-1"));
    const canceled = await before.cancel("t-1", "stop");
    await first.close();

    expect(claim(createTaskStore(journal()), "t-1")).toEqual({ kind: "finished", result: canceled });
  });

  it("replays a task that was only started as a retryable FAILED interruption, which may run again", async () => {
    const first = journal();
    expectStarted(claim(createTaskStore(first), "t-1"));
    // begin records the start without waiting; close waits for the queued write.
    await first.close();

    const after = createTaskStore(journal());
    const rec = after.get("t-1");
    expect(rec).toEqual({
      taskId: "t-1",
      fingerprint: "fp-1",
      owner: "supervisor",
      settled: false,
      result: result("t-1", TaskState.FAILED, {
        error: create(TaskErrorSchema, {
          code: "unavailable",
          message: "the service stopped while the task was running; retry with the same task id",
          retryable: true,
          reason: "interrupted",
        }),
        updatedAt: rec?.result.updatedAt,
      }),
    });
    expectStarted(claim(after, "t-1"));
  });

  it("still refuses a different request under a replayed task id", async () => {
    const first = journal();
    expectStarted(claim(createTaskStore(first), "t-1"));
    await first.close();

    const err = await connectErrorOf(() => claim(createTaskStore(journal()), "t-1", "fp-other"));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(errorDetailOf(err)?.reason).toBe("task_id_conflict");
  });

  it("skips a torn last line and keeps the record before it", async () => {
    const first = journal();
    const before = createTaskStore(first);
    expectStarted(claim(before, "t-1"));
    await before.finish("t-1", completed("t-1"));
    await first.close();
    // Whole lines only (the start and the final record may share one line: task-journal.ts).
    expect(readFileSync(path, "utf8")).toMatch(/^(\{[^\n]*\}\n)+$/);
    appendFileSync(path, '{"t":"t-1","f":"fp-1","o":"supervisor","r":"CgN0LTE');

    const after = createTaskStore(journal());
    expect(after.get("t-1")).toEqual({ taskId: "t-1", fingerprint: "fp-1", owner: "supervisor", result: completed("t-1"), settled: true });
  });

  it("creates the journal file and its folder, and replays nothing from an empty one", () => {
    const store = createTaskStore(journal());
    expect(readFileSync(path, "utf8")).toBe("");
    expect(store.get("t-1")).toBeUndefined();
  });
});
