/**
 * `DelegationService` on top of a task store, shared by every agent and the
 * gateway: they differ only in how they execute a task (run an intent handler, or
 * forward to a worker).
 */
import { Code } from "@connectrpc/connect";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { DelegationMode, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import type { DelegateRequest, DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TaskEventSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshCall, MeshServiceImpl } from "../call.js";
import { callerKey, taskSignalKey } from "../context-keys.js";
import { meshError, taskDeadlineExceeded } from "../errors.js";
import type { Identity } from "../auth/identity.js";
import { isTerminal, stateName } from "./task-states.js";
import type { TaskRecord, TaskStore } from "./task-store.js";
import { withState } from "./result-builder.js";
import { effectiveDeadlineMs } from "../validation/delegate-request-rules.js";

/**
 * Executes an admitted task and resolves to its terminal result. It throws a
 * `ConnectError` only for failures a retry of the same task id may fix (the
 * claim is released); any other failure is a FAILED or REJECTED result.
 */
export type TaskExecutor = (req: DelegateRequest, call: MeshCall, started: Result, signal: AbortSignal) => Promise<Result>;

/** Options of `createDelegationServiceImpl`. */
export interface DelegationServiceOptions {
  readonly store: TaskStore;
  readonly execute: TaskExecutor;
  /**
   * Cancels a task that was queued (the gateway's queued delegation), also one
   * queued through another gateway: resolves to its result afterwards, or
   * undefined when the task was not queued, which the store then cancels as
   * usual. Throws PERMISSION_DENIED for a caller that does not own the task.
   */
  readonly cancelQueued?: (taskId: string, reason: string, caller: Identity) => Promise<Result | undefined>;
}

/** Roles that may read tasks they did not delegate themselves. */
const overseers: ReadonlySet<string> = new Set(["gateway", "auditor"]);
/**
 * Roles that may cancel tasks they did not delegate: only the gateway, which
 * forwards the delegator's own Cancel (the caller it forwards is checked there).
 */
const cancelers: ReadonlySet<string> = new Set(["gateway"]);

/** Creates the service implementation. */
export function createDelegationServiceImpl(o: DelegationServiceOptions): MeshServiceImpl<typeof DelegationService> {
  const { store } = o;
  const owned = (taskId: string, call: MeshCall): TaskRecord => {
    const rec = store.get(taskId);
    if (rec === undefined) {
      throw meshError(Code.NotFound, `no task with id ${taskId}`, { reason: "task_not_found", metadata: { task_id: taskId } });
    }
    assertMayRead(rec, call.values.get(callerKey)!);
    return rec;
  };
  return {
    async delegate(req, call) {
      // A queued task waits on the queue for a worker (gateway/queued-delegation.ts); any other runs now.
      const started = withState(store.get(req.taskId)!.result, req.mode === DelegationMode.QUEUED ? TaskState.QUEUED : TaskState.WORKING);
      store.update(req.taskId, started);
      // The task runs until it ends, is canceled or its deadline passes; the
      // call that started it may go away meanwhile (see idempotency.ts).
      const { signal, dispose } = taskSignal(call.values.get(taskSignalKey)!, effectiveDeadlineMs(call.deadline, req));
      try {
        return { result: await o.execute(req, call, started, signal) };
      } finally {
        dispose();
      }
    },
    getResult(req, call) {
      return Promise.resolve(owned(req.taskId, call).result);
    },
    async *watchResult(req, call) {
      const rec = owned(req.taskId, call);
      yield* followTask(store, rec, call.signal);
    },
    async cancel(req, call) {
      const caller = call.values.get(callerKey)!;
      // A Cancel may overtake its Delegate (e.g. forwarded by the gateway while the
      // Delegate is still on its way): the id is then recorded as canceled for the caller.
      if (store.get(req.taskId) === undefined) {
        const queued = await o.cancelQueued?.(req.taskId, req.reason, caller);
        if (queued !== undefined) return { result: queued };
        return { result: await store.cancel(req.taskId, req.reason, caller.subject) };
      }
      const rec = owned(req.taskId, call);
      if (rec.owner !== caller.subject && !cancelers.has(caller.role)) {
        throw meshError(Code.PermissionDenied, `task ${rec.taskId} may be canceled only by the caller that delegated it`, { reason: "not_task_owner" });
      }
      const queued = await o.cancelQueued?.(req.taskId, req.reason, caller);
      if (queued !== undefined && queued.state !== TaskState.CANCELED) {
        // It ended on a worker before the Cancel reached it: that is its outcome.
        await store.finish(req.taskId, queued);
        return { result: store.get(req.taskId)!.result };
      }
      return { result: await store.cancel(req.taskId, req.reason) };
    },
  };
}

function assertMayRead(rec: TaskRecord, caller: Identity): void {
  if (rec.owner !== caller.subject && !overseers.has(caller.role)) {
    throw meshError(Code.PermissionDenied, `task ${rec.taskId} was delegated by another caller`, { reason: "not_task_owner" });
  }
}

/**
 * The task's own signal, also aborted with DEADLINE_EXCEEDED when `deadline`
 * (epoch ms) passes; `dispose` stops following both. (One controller and a
 * listener rather than `AbortSignal.any`, which costs about 30 µs of CPU and
 * garbage per call in Node 20, twice per delegation.)
 */
function taskSignal(canceled: AbortSignal, deadline: number | undefined): { signal: AbortSignal; dispose: () => void } {
  if (deadline === undefined) return { signal: canceled, dispose: () => undefined };
  const task = new AbortController();
  const onCancel = () => task.abort(canceled.reason);
  if (canceled.aborted) onCancel();
  else canceled.addEventListener("abort", onCancel, { once: true });
  const timer = setTimeout(() => {
    task.abort(taskDeadlineExceeded());
  }, Math.max(0, deadline - Date.now()));
  return {
    signal: task.signal,
    dispose: () => {
      clearTimeout(timer);
      canceled.removeEventListener("abort", onCancel);
    },
  };
}

/** Streams a task's snapshots as events, from its current state until a terminal one. */
async function* followTask(store: TaskStore, rec: TaskRecord, signal: AbortSignal): AsyncGenerator<MessageInitShape<typeof TaskEventSchema>> {
  const pending: Result[] = [];
  let wake: (() => void) | undefined;
  const stop = store.watch(rec.taskId, (r) => {
    pending.push(r);
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener("abort", onAbort);
  try {
    let last: Result = store.get(rec.taskId)?.result ?? rec.result;
    yield event(last);
    while (!isTerminal(last.state) && !signal.aborted) {
      if (pending.length === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const next = pending.shift()!;
      if (next.state !== last.state) yield event(next);
      last = next;
    }
  } finally {
    stop();
    signal.removeEventListener("abort", onAbort);
  }
}

function event(result: Result): MessageInitShape<typeof TaskEventSchema> {
  return {
    taskId: result.taskId,
    state: result.state,
    time: result.updatedAt ?? timestampNow(),
    message: result.error?.message ?? stateName(result.state),
    result,
  };
}
