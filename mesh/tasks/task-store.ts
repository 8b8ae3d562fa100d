/**
 * Task records: the current result of every task a service has accepted, keyed by
 * task id. The store is what makes `Delegate` idempotent (one execution per task
 * id, also for concurrent duplicates), what `GetResult` reads and what
 * `WatchResult` follows.
 */
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import type { ConnectError } from "@connectrpc/connect";
import { ResultSchema, TaskErrorSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import { meshError } from "../errors.js";
import { isTerminal } from "./task-states.js";
import type { TaskJournal } from "./task-journal.js";

/** A task as the store keeps it. */
export interface TaskRecord {
  readonly taskId: string;
  /** Digest of the request that created the task; a different request with the same id is a conflict. */
  readonly fingerprint: string;
  /** Subject of the caller that delegated the task. */
  readonly owner: string;
  /** Current result snapshot. */
  result: Result;
  /**
   * True once the task's outcome is final for its id. A released execution (an
   * error a retry may fix) is not settled: the next identical request runs again.
   */
  settled: boolean;
}

/** Outcome of `begin`. */
export type BeginOutcome =
  /** The caller owns the execution: run it, then `finish` or `release`. */
  | { readonly kind: "started"; readonly signal: AbortSignal }
  /**
   * An identical request is executing: wait for its outcome. `done` resolves with
   * the terminal result, or rejects with the same error as the execution when it
   * was released.
   */
  | { readonly kind: "joined"; readonly done: Promise<Result> }
  /** The task already ended: this is its result. */
  | { readonly kind: "finished"; readonly result: Result };

/** Receives every new snapshot of one task. */
export type TaskListener = (result: Result) => void;

/** The task store; see `createTaskStore`. */
export interface TaskStore {
  /** The record of a task, or undefined. */
  get(taskId: string): TaskRecord | undefined;
  /**
   * Claims the execution of a task. Throws ALREADY_EXISTS (`task_id_conflict`)
   * when the id was used for a different request.
   */
  begin(record: { taskId: string; fingerprint: string; owner: string; initial: Result }): BeginOutcome;
  /**
   * Records a task that may not run yet (it waits for a human approval): the
   * record exists, visible to `GetResult` and `WatchResult`, but nothing claims its
   * execution; a later `begin` with the same request runs it. Resolves once the
   * record is journaled. Throws ALREADY_EXISTS like `begin`.
   */
  hold(record: { taskId: string; fingerprint: string; owner: string; initial: Result }): Promise<void>;
  /** Records a non-terminal state change of a running task. */
  update(taskId: string, result: Result): void;
  /**
   * Records the terminal result of a running task and wakes everyone waiting for
   * it; resolves once the record is journaled: written and synced, or with
   * `{ sync: false }` written (safe from a crash of the process), its sync
   * following shortly (task-journal.ts).
   */
  finish(taskId: string, result: Result, options?: { readonly sync?: boolean }): Promise<void>;
  /**
   * Ends an execution that failed in a way a retry may fix: the failure is
   * visible to `GetResult`, requests that joined the execution fail with `error`,
   * and the next `begin` with the same request runs again.
   */
  release(taskId: string, result: Result, error: ConnectError): void;
  /**
   * Replaces the outcome of a task that ended here without running to its end
   * here: a queued task the gateway saw dead-lettered and its owner re-drove, or
   * one the gateway saw as interrupted by its own restart while a worker went on
   * with it. The record takes `result` and follows it from there. Resolves once
   * it is journaled.
   */
  reopen(taskId: string, result: Result): Promise<void>;
  /** Resolves once no execution is running (for a graceful stop). */
  idle(): Promise<void>;
  /**
   * Cancels a task that has not ended (or that ended in a failure a retry could
   * rerun); returns its result after the cancellation. For an unknown task id it
   * throws NOT_FOUND, unless `owner` is given: then the id is recorded as
   * canceled for that owner, so a Delegate that arrives after its Cancel does not
   * run.
   */
  cancel(taskId: string, reason: string, owner?: string): Promise<Result>;
  /** Follows a task's snapshots; returns the function that stops following. */
  watch(taskId: string, listener: TaskListener): () => void;
}

interface Running {
  readonly controller: AbortController;
  readonly done: Promise<Result>;
  readonly resolve: (r: Result) => void;
  readonly reject: (e: ConnectError) => void;
}

/**
 * Creates a store. With a journal, terminal results survive a restart: the journal
 * is replayed into the store at creation, and a task that was running when the
 * process stopped is left as a retryable failure, so a retry runs it again.
 */
export function createTaskStore(journal?: TaskJournal): TaskStore {
  const records = new Map<string, TaskRecord>();
  const running = new Map<string, Running>();
  const listeners = new Map<string, Set<TaskListener>>();

  for (const rec of journal?.replay() ?? []) {
    // A task waiting for a human, or on the queue for a worker, still waits; one that was running here was interrupted.
    if (!isTerminal(rec.result.state) && rec.result.state !== TaskState.AWAITING_APPROVAL && rec.result.state !== TaskState.QUEUED) {
      rec.result = interrupted(rec.result);
    }
    records.set(rec.taskId, { ...rec, settled: isTerminal(rec.result.state) && !canRerun(rec.result) });
  }

  /**
   * Journals a final snapshot. A failed write is logged and the store goes on
   * from memory: the task's outcome is known and is answered, though a restart
   * before the next successful write would not remember it.
   */
  const persist = async (rec: TaskRecord, options?: { readonly sync?: boolean }) => {
    try {
      await journal?.append(rec, options);
    } catch (err) {
      console.error(`task journal: could not record task ${rec.taskId}: ${String(err)}`);
    }
  };
  const publish = (rec: TaskRecord) => {
    for (const l of listeners.get(rec.taskId) ?? []) l(rec.result);
  };
  let idleWaiters: (() => void)[] = [];
  const settle = (taskId: string, outcome: { result: Result } | { error: ConnectError }) => {
    const run = running.get(taskId);
    running.delete(taskId);
    if ("error" in outcome) run?.reject(outcome.error);
    else run?.resolve(outcome.result);
    if (running.size === 0) {
      for (const w of idleWaiters) w();
      idleWaiters = [];
    }
  };

  return {
    get: (taskId) => records.get(taskId),
    async hold({ taskId, fingerprint, owner, initial }) {
      assertSameRequest(records.get(taskId), taskId, fingerprint, owner);
      const rec: TaskRecord = { taskId, fingerprint, owner, result: initial, settled: false };
      records.set(taskId, rec);
      await journal?.append(rec);
      publish(rec);
    },
    begin({ taskId, fingerprint, owner, initial }) {
      const existing = records.get(taskId);
      if (existing !== undefined) {
        assertSameRequest(existing, taskId, fingerprint, owner);
        const run = running.get(taskId);
        if (run !== undefined) return { kind: "joined", done: run.done };
        if (existing.settled) return { kind: "finished", result: existing.result };
      }
      let resolve!: (r: Result) => void;
      let reject!: (e: ConnectError) => void;
      const done = new Promise<Result>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Nobody may be waiting when a released execution rejects `done`.
      done.catch(() => undefined);
      const controller = new AbortController();
      running.set(taskId, { controller, done, resolve, reject });
      const rec: TaskRecord = { taskId, fingerprint, owner, result: initial, settled: false };
      records.set(taskId, rec);
      // Recording the start is best effort: a start lost in a crash replays as no
      // record at all, which a retry treats the same as an interrupted run. It is
      // written at once: a held task (approvals) depends on it to replay as
      // interrupted rather than as still waiting for its approval.
      journal?.append(rec).catch((err: unknown) => console.error(`task journal: ${String(err)}`));
      publish(rec);
      return { kind: "started", signal: controller.signal };
    },
    update(taskId, result) {
      const rec = records.get(taskId);
      if (rec === undefined || isTerminal(rec.result.state)) return;
      rec.result = result;
      publish(rec);
    },
    async finish(taskId, result, options) {
      const rec = records.get(taskId);
      if (rec === undefined) return;
      if (!isTerminal(rec.result.state)) {
        // A queued task's Delegate ends with QUEUED; its worker may have moved it on already (mirrored in by update): keep the later state.
        if (isTerminal(result.state) || result.state >= rec.result.state) rec.result = result;
        rec.settled = !canRerun(result);
        await persist(rec, options);
        publish(rec);
      }
      settle(taskId, { result: rec.result });
    },
    release(taskId, result, error) {
      const rec = records.get(taskId);
      if (rec !== undefined && !isTerminal(rec.result.state)) {
        rec.result = result;
        rec.settled = false;
        publish(rec);
      }
      settle(taskId, { error });
    },
    async reopen(taskId, result) {
      const rec = records.get(taskId);
      if (rec === undefined || running.has(taskId)) return;
      rec.result = result;
      rec.settled = !canRerun(result);
      await persist(rec);
      publish(rec);
    },
    idle() {
      return running.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async cancel(taskId, reason, owner) {
      let rec = records.get(taskId);
      if (rec === undefined) {
        if (owner === undefined) throw meshError(Code.NotFound, `no task with id ${taskId}`, { reason: "task_not_found" });
        // The Cancel overtook its Delegate: remember it, so the Delegate finds the task canceled.
        rec = { taskId, fingerprint: canceledBeforeArrival, owner, result: create(ResultSchema, { taskId, state: TaskState.SUBMITTED, createdAt: timestampNow() }), settled: false };
        records.set(taskId, rec);
      }
      // A task that may still run again (a retryable failure) is stopped for good too.
      if (isTerminal(rec.result.state) && !canRerun(rec.result)) return rec.result;
      rec.result = create(ResultSchema, {
        ...rec.result,
        state: TaskState.CANCELED,
        error: create(TaskErrorSchema, { code: "canceled", message: reason === "" ? "canceled by the delegator" : reason, retryable: false, reason: "canceled" }),
        updatedAt: timestampNow(),
      });
      rec.settled = true;
      running.get(taskId)?.controller.abort(meshError(Code.Canceled, "task canceled", { reason: "canceled" }));
      await persist(rec);
      publish(rec);
      settle(taskId, { result: rec.result });
      return rec.result;
    },
    watch(taskId, listener) {
      let set = listeners.get(taskId);
      if (set === undefined) listeners.set(taskId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(taskId);
      };
    },
  };
}

/** Fingerprint of a task id canceled before its Delegate arrived: it matches that owner's request. */
const canceledBeforeArrival = "canceled-before-arrival";

function assertSameRequest(existing: TaskRecord | undefined, taskId: string, fingerprint: string, owner: string): void {
  const same = existing === undefined || existing.fingerprint === fingerprint || (existing.fingerprint === canceledBeforeArrival && existing.owner === owner);
  if (!same) {
    throw meshError(Code.AlreadyExists, `task id ${taskId} was already used for a different request; choose a new task id`, {
      reason: "task_id_conflict",
      metadata: { task_id: taskId },
    });
  }
}

/**
 * Waits up to `ms` for the running executions of `store` to end (a graceful stop:
 * tasks whose callers already left still get to finish). False on timeout.
 */
export async function waitIdle(store: TaskStore, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([store.idle().then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A task that failed with a retryable error may run again under the same id. */
function canRerun(result: Result): boolean {
  return result.state === TaskState.FAILED && result.error?.retryable === true;
}

function interrupted(result: Result): Result {
  return create(ResultSchema, {
    ...result,
    state: TaskState.FAILED,
    error: create(TaskErrorSchema, { code: "unavailable", message: "the service stopped while the task was running; retry with the same task id", retryable: true, reason: "interrupted" }),
    updatedAt: timestampNow(),
  });
}
