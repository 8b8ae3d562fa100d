/**
 * The agent's side of queued delegation: each replica pulls the tasks of its
 * intents from the work queue and runs every one through its own governance
 * chain (the bound Delegate handler) as if the gateway had called it, under the
 * hop token the gateway signed for this agent. Nothing about a queued task is
 * trusted from the queue alone: the token is verified, the request validated and
 * policy decides, on the worker, like for a synchronous call.
 *
 * The task's shared record (mesh/queue/queued-task.ts) is how replicas agree:
 * - a task whose record is terminal (done before a redelivery, or canceled while
 *   it waited) is acked without running, so one task id runs to an outcome once;
 * - the replica that takes a delivery moves the record to WORKING and, while the
 *   task runs, keeps both the delivery (`working()`) and the record's time fresh;
 *   a replica that dies stops doing so, and the queue redelivers the task to
 *   another one after the ack wait. A copy of the message that arrives while the
 *   record is fresh waits (nak) instead of running the task a second time;
 * - a Cancel (the record turns CANCELED) stops the run, also one that was about
 *   to start.
 *
 * The request, its caller and the task are bound into the hop token the gateway
 * signed (mesh/chain/hop-token.ts): the governance chain refuses a token used for
 * another request or under another caller.
 *
 * Outcomes: a terminal result is written to the shared record and acked. A
 * retryable failure is retried with back-off by the queue (nak) until the last
 * allowed attempt, which writes FAILED (`dead_lettered`) and lands in the
 * dead-letter queue with every attempt's reason. Credentials that expired while
 * the task waited go to the dead-letter queue at once (re-drive it with fresh
 * ones: `agentmesh tasks retry`). Any other refusal is the task's outcome.
 */
import { Code, createContextValues } from "@connectrpc/connect";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateResponse } from "../../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshCall, MeshHandler } from "../call.js";
import { errorDetailOf, taskErrorOf, toConnectError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Delivery, KvChange, QueueBackend, QueueConsumer } from "../queue/queue-types.js";
import { advanceSharedRecord, deadLetteredError, decodeQueuedTask, decodeSharedRecord, readSharedRecord, sharedTaskKey, taskSubject, updatedAtMs } from "../queue/queued-task.js";
import type { QueuedTask } from "../queue/queued-task.js";
import { withState } from "../tasks/result-builder.js";
import { isTerminal, refusedState } from "../tasks/task-states.js";
import type { TaskStore } from "../tasks/task-store.js";

/** Options of `startQueueWorker`. */
export interface QueueWorkerOptions {
  readonly backend: QueueBackend;
  /** This agent's name: the key of its token in a queued task. */
  readonly agent: string;
  readonly intents: readonly string[];
  /** The agent's Delegate handler, wrapped in its governance chain. */
  readonly delegate: MeshHandler;
  /** The agent's own task store (a Cancel reaches the run through it). */
  readonly tasks: TaskStore;
  readonly logger: Logger;
  /** Most tasks run at once per intent. */
  readonly maxInFlight: number;
  /** Attempts before the dead-letter queue (the queue's own setting). */
  readonly maxDeliveries: number;
  /** The queue's ack wait: `working()` is sent three times within it while a task runs. */
  readonly ackWaitMs: number;
}

/** A running queue worker. */
export interface QueueWorker {
  /** Takes no more tasks and waits up to `graceMs` for the running ones (the queue redelivers what is left). */
  stop(graceMs: number): Promise<void>;
}

/** Starts consuming the queues of `o.intents`. */
export function startQueueWorker(o: QueueWorkerOptions): QueueWorker {
  // One watch of the shared records for every running task (a watch each would cost the store a reader each).
  const watchers = new Map<string, Set<(change: KvChange) => void>>();
  const stopWatching = o.backend.store.watch("result/", (change) => {
    for (const listener of watchers.get(change.key) ?? []) listener(change);
  });
  const watch: WatchRecord = (key, listener) => {
    let set = watchers.get(key);
    if (set === undefined) watchers.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) watchers.delete(key);
    };
  };
  const consumers: QueueConsumer[] = o.intents.map((intent) =>
    o.backend.queue.consume(taskSubject(intent), (delivery) => runDelivery(o, watch, delivery), { maxInFlight: o.maxInFlight }));
  return {
    async stop(graceMs) {
      const stopped = Promise.all(consumers.map((c) => c.stop()));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)));
      const inTime = await Promise.race([stopped.then(() => true), late]);
      clearTimeout(timer);
      stopWatching();
      if (!inTime) o.logger.warn("stopping with queued tasks still running: the queue gives them to another replica after the ack wait", { grace_ms: graceMs });
    },
  };
}

/** Follows one shared record's changes until the returned function is called. */
type WatchRecord = (key: string, listener: (change: KvChange) => void) => () => void;

async function runDelivery(o: QueueWorkerOptions, watch: WatchRecord, delivery: Delivery): Promise<void> {
  let task: QueuedTask;
  try {
    task = decodeQueuedTask(delivery.data);
  } catch (err) {
    await delivery.term(`unreadable queued task: ${(err as Error).message}`);
    return;
  }
  const taskId = task.request.taskId;
  const key = sharedTaskKey(taskId);
  // Watching before the record is read: a Cancel that lands from here on is seen.
  let owner: string | undefined;
  const stopWatching = watch(key, (change) => {
    if (change.value === undefined) return;
    const result = decodeSharedRecord(change.value).result;
    // With the owner, a Cancel that overtakes the run's start is remembered by the local store.
    if (result.state === TaskState.CANCELED) o.tasks.cancel(taskId, result.error?.message ?? "canceled", owner).catch(() => undefined);
  });
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    const current = await readSharedRecord(o.backend.store, taskId);
    if (current === undefined) {
      await delivery.term(`task ${taskId} has no shared record: it was never accepted by a gateway`);
      return;
    }
    owner = current.record.owner;
    if (isTerminal(current.record.result.state)) {
      // Ran to its end before (this is a redelivery), or was canceled while it waited.
      await delivery.ack();
      return;
    }
    const token = task.tokens[o.agent];
    if (token === undefined) {
      // Another agent offers the intent too, or the offers changed since: leave the task to a replica it names.
      await delivery.nak(`the task carries no credentials for agent ${o.agent}`, o.ackWaitMs);
      return;
    }
    const held = current.record.result;
    if (held.state === TaskState.WORKING && Date.now() - updatedAtMs(held) < o.ackWaitMs) {
      // A live replica runs it (its heartbeat keeps the record fresh): a second copy of the message waits.
      await delivery.nak(`task ${taskId} is running on another replica`, o.ackWaitMs);
      return;
    }
    const taken = await advanceSharedRecord(o.backend.store, taskId, (cur) => ({ ...cur, result: withState(cur.result, TaskState.WORKING, { agent: o.agent }) }));
    if (taken === undefined || isTerminal(taken.result.state)) {
      await delivery.ack();
      return;
    }
    heartbeat = setInterval(() => {
      delivery.working().catch((err: unknown) => o.logger.warn("could not extend a queued task's lease", { task_id: taskId, error: String(err) }));
      // The record's time says the run is alive (see above); a terminal record is left as it is.
      advanceSharedRecord(o.backend.store, taskId, (cur) => (cur.result.state === TaskState.WORKING ? { ...cur, result: withState(cur.result, TaskState.WORKING) } : undefined))
        .catch((err: unknown) => o.logger.warn("could not refresh a queued task's record", { task_id: taskId, error: String(err) }));
    }, Math.max(50, Math.floor(o.ackWaitMs / 3)));
    const outcome = await run(o, task, token);
    await settle(o, delivery, current.record.result, outcome);
  } finally {
    clearInterval(heartbeat);
    stopWatching();
  }
}

/**
 * Writes a run's outcome to the shared record, retrying while the store is
 * unreachable: a run that happened must not be run again for want of its record
 * (after `writeAttempts` the delivery is nak'ed, and the task may run again).
 */
async function writeOutcome(o: QueueWorkerOptions, taskId: string, result: Result): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await advanceSharedRecord(o.backend.store, taskId, (cur) => ({ ...cur, result }));
      return;
    } catch (err) {
      if (attempt >= writeAttempts) throw err;
      o.logger.warn("could not record a queued task's outcome; retrying", { task_id: taskId, attempt, error: String(err) });
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
}

/** Attempts to record an outcome before giving up (about 20 s in all). */
const writeAttempts = 12;

type Outcome = { readonly kind: "result"; readonly result: Result } | { readonly kind: "error"; readonly error: ReturnType<typeof toConnectError> };

async function run(o: QueueWorkerOptions, task: QueuedTask, token: string): Promise<Outcome> {
  try {
    const response = (await o.delegate(queuedCall(task, token))) as DelegateResponse;
    return { kind: "result", result: response.result! };
  } catch (err) {
    return { kind: "error", error: toConnectError(err) };
  }
}

/** Records the outcome of a run in the shared record (`base`: the record as the task was taken) and settles the delivery. */
async function settle(o: QueueWorkerOptions, delivery: Delivery, base: Result, outcome: Outcome): Promise<void> {
  const taskId = base.taskId;
  const write = (result: Result) => writeOutcome(o, taskId, result);
  const lastAttempt = delivery.attempt >= o.maxDeliveries;
  if (outcome.kind === "result") {
    const { result } = outcome;
    const retryable = result.state === TaskState.FAILED && result.error?.retryable === true;
    if (!retryable) {
      await write(result);
      await delivery.ack();
      return;
    }
    await retryLater(o, delivery, write, result, result.error?.message ?? "failed", lastAttempt);
    return;
  }
  const { error } = outcome;
  const failed = withState(base, TaskState.FAILED, { agent: o.agent, error: taskErrorOf(error) });
  if (error.code === Code.Unauthenticated) {
    // The gateway's credentials expired while the task waited: only a re-drive with new ones can run it.
    await delivery.term(`credentials refused: ${error.rawMessage}`);
    await write(withState(failed, TaskState.FAILED, { error: deadLettered(`credentials refused: ${error.rawMessage}`, delivery) }));
    return;
  }
  if (taskErrorOf(error).retryable) {
    await retryLater(o, delivery, write, failed, error.rawMessage, lastAttempt);
    return;
  }
  // The same state a synchronous call would record for this refusal.
  await write(withState(failed, refusedState(error.code)));
  await delivery.ack();
  o.logger.info("queued task refused", { task_id: taskId, code: Code[error.code], reason: errorDetailOf(error)?.reason ?? "" });
}

/** A retryable failure: back on the queue with back-off, or, on the last attempt, FAILED and dead-lettered. */
async function retryLater(o: QueueWorkerOptions, delivery: Delivery, write: (r: Result) => Promise<unknown>, result: Result, reason: string, lastAttempt: boolean): Promise<void> {
  if (lastAttempt) {
    // Dead-lettered first, so whoever sees the FAILED record finds the dead letter
    // (should this process die in between, the gateway records the outcome from the dead letter).
    await delivery.nak(reason);
    await write(withState(result, TaskState.FAILED, { error: deadLettered(reason, delivery) }));
  } else {
    // Visible to followers: waiting for the next attempt.
    await advanceSharedRecord(o.backend.store, delivery.id, (cur) => ({ ...cur, result: withState(cur.result, TaskState.QUEUED, { error: result.error }) }));
    await delivery.nak(reason);
  }
  o.logger.warn("queued task failed; retrying", { task_id: delivery.id, attempt: delivery.attempt, last: lastAttempt, reason });
}

function deadLettered(reason: string, delivery: Delivery) {
  return deadLetteredError(delivery.attempt, [...delivery.errors, reason]);
}

/** The Delegate call a queued task runs as: the gateway's token for this agent and the forwarded caller and trace. */
function queuedCall(task: QueuedTask, token: string): MeshCall {
  const headers = new Map(Object.entries(task.headers));
  headers.set("authorization", `Bearer ${token}`);
  return {
    service: DelegationService,
    method: DelegationService.method.delegate,
    protocol: "grpc",
    header: { get: (name) => headers.get(name) ?? null },
    message: task.request,
    values: createContextValues(),
    // The task belongs to its id, not to this call: nothing aborts it but Cancel or its deadline.
    signal: new AbortController().signal,
    deadline: undefined,
    peer: "queue",
  };
}
