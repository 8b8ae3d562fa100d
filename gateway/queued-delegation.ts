/**
 * Queued delegation at the gateway (`mode: QUEUED`). The call is admitted by the
 * same governance chain as a synchronous one (authentication, validation, chain,
 * policy with its quotas, approvals, idempotency); then, instead of forwarding it,
 * the gateway records the task as QUEUED in the shared store and puts it on the
 * intent's work queue with a hop token for each agent that may run it. It answers
 * at once with QUEUED. Worker replicas pull the task and run it
 * (mesh/agent/queue-worker.ts); the gateway mirrors the shared record into its own
 * task store, so GetResult and WatchResult follow the task to its end, and Cancel
 * stops it whether it still waits or already runs.
 */
import { Code } from "@connectrpc/connect";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskErrorSchema, TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import { create } from "@bufbuild/protobuf";
import {
  advanceSharedRecord, approvalKey, asWorkerRequest, callerKey, chainKey, constraintDeadlineMs, deadLetteredError, decodeSharedRecord, delegateRequestDigest, requestFingerprint, updatedAtMs, encodeQueuedTask, encodeSharedRecord,
  forwardedCallerHeader, forwardedRoleHeader, injectContext, isTerminal, meshError, otelContextKey, readSharedRecord, sharedTaskKey, startClientSpan, taskSubject, withState,
} from "../mesh/index.js";
import type { HopTokenIssuer, Identity, Logger, QueueBackend, TaskExecutor, TaskStore, Telemetry } from "../mesh/index.js";

/** Options of `createQueuedDelegation`. */
export interface QueuedDelegationOptions {
  readonly backend: QueueBackend;
  /** Mints the hop token a worker of `agent` runs the task under (valid until the task's deadline, within the issuer's cap). */
  readonly hopToken: HopTokenIssuer;
  /** The agents the configuration lets offer an intent. */
  readonly agentsFor: (intent: string) => readonly string[];
  readonly telemetry: Telemetry;
  readonly logger: Logger;
}

/** Queued delegation as the gateway runs it. */
export interface QueuedDelegation {
  /** Enqueues an admitted QUEUED task; resolves to its QUEUED snapshot. */
  readonly execute: TaskExecutor;
  /**
   * Cancels a queued task in the shared store, for its owner (or the gateway
   * role). Resolves to the task's shared result afterwards (CANCELED, or the
   * terminal state it had reached first), or undefined when the task was never
   * queued. Throws PERMISSION_DENIED (`not_task_owner`) for anyone else.
   */
  cancel(taskId: string, reason: string, caller: Identity): Promise<Result | undefined>;
  /** Mirrors the shared records of queued tasks into `store` until the returned function is called. */
  follow(store: TaskStore): Promise<() => void>;
}

/** True for a record still as the gateway wrote it: QUEUED, no worker ever took it, no error. */
function untouched(result: Result, asQueued: Result): boolean {
  return result.state === TaskState.QUEUED && result.error === undefined && result.agent === asQueued.agent;
}

/** How often the gateway looks for tasks dead-lettered without a worker saying so. */
const deadLetterScanMs = 5_000;

/** Creates the gateway's queued delegation over `backend`. */
export function createQueuedDelegation(o: QueuedDelegationOptions): QueuedDelegation {
  const { backend } = o;
  const execute: TaskExecutor = async (req, call, started) => {
    const caller = call.values.get(callerKey)!;
    const agents = o.agentsFor(req.intent);
    if (agents.length === 0) {
      throw meshError(Code.FailedPrecondition, `no agent is configured to offer intent ${req.intent}, so nothing would ever take the task from the queue`, {
        reason: "no_worker", metadata: { intent: req.intent },
      });
    }
    const queued = withState(started, TaskState.QUEUED);
    const fingerprint = requestFingerprint(caller.subject, req);
    const created = await backend.store.create(sharedTaskKey(req.taskId), encodeSharedRecord({ owner: caller.subject, fingerprint, result: queued }));
    if (created === undefined) {
      // Queued before: by this gateway before a restart or a failed enqueue, or by another replica.
      const existing = await readSharedRecord(backend.store, req.taskId);
      if (existing !== undefined && (existing.record.owner !== caller.subject || (existing.record.fingerprint ?? fingerprint) !== fingerprint)) {
        throw meshError(Code.AlreadyExists, `task id ${req.taskId} was already used for a different request; choose a new task id`, { reason: "task_id_conflict", metadata: { task_id: req.taskId } });
      }
      // A task some worker took, or that ended, is on its way: that is the answer. One no
      // worker touched may never have reached the queue (the gateway stopped between the
      // record and the enqueue): enqueue it again; the queue drops a second copy by id.
      if (existing !== undefined && !untouched(existing.record.result, queued)) return existing.record.result;
    }
    const span = startClientSpan(o.telemetry, call.values.get(otelContextKey) ?? ROOT_CONTEXT, DelegationService.method.delegate, `queue:${backend.kind}`, {
      "agentmesh.task_id": req.taskId, "agentmesh.intent": req.intent, "messaging.system": backend.kind === "nats" ? "nats" : "agentmesh-embedded",
      "messaging.destination.name": taskSubject(req.intent),
    });
    try {
      const deadline = constraintDeadlineMs(req);
      const chain = call.values.get(chainKey)!;
      const approval = call.values.get(approvalKey);
      const request = asWorkerRequest(req);
      // Bound to the caller and the exact request: the tokens wait on the queue, where others may read them.
      const hop = {
        chain, taskId: req.taskId, intent: req.intent, caller: { subject: caller.subject, role: caller.role }, request: delegateRequestDigest(request),
        ...(approval === undefined ? {} : { approval }),
      };
      const tokens: Record<string, string> = {};
      for (const agent of agents) tokens[agent] = await o.hopToken(agent, hop, deadline);
      const headers: Record<string, string> = { [forwardedCallerHeader]: caller.subject, [forwardedRoleHeader]: caller.role };
      injectContext(span.context, headers);
      const { duplicate } = await backend.queue.enqueue({ id: req.taskId, subject: taskSubject(req.intent), data: encodeQueuedTask({ request, tokens, headers, enqueuedAt: Date.now() }) });
      if (duplicate) o.logger.info("queued task already on the queue", { task_id: req.taskId });
      span.end();
      return queued;
    } catch (err) {
      span.end(err);
      // The record stays QUEUED and untouched, so the caller's retry with the same id enqueues
      // again (a copy that did reach the queue is dropped by id, or acked unrun once it ended).
      throw meshError(Code.Unavailable, "the task could not be queued; retry with the same task id", { reason: "queue_unavailable" }, err);
    }
  };

  return {
    execute,
    async cancel(taskId, reason, caller) {
      const cur = await readSharedRecord(backend.store, taskId);
      if (cur === undefined) return undefined;
      if (cur.record.owner !== caller.subject && caller.role !== "gateway") {
        throw meshError(Code.PermissionDenied, `task ${taskId} may be canceled only by the caller that delegated it`, { reason: "not_task_owner" });
      }
      const after = await advanceSharedRecord(backend.store, taskId, (rec) => ({
        ...rec,
        result: withState(rec.result, TaskState.CANCELED, {
          error: create(TaskErrorSchema, { code: "canceled", message: reason === "" ? "canceled by the delegator" : reason, retryable: false, reason: "canceled" }),
        }),
      }));
      return after?.result;
    },
    async follow(store) {
      const apply = (taskId: string, result: Result) => {
        const local = store.get(taskId);
        if (local === undefined) return;
        if (isTerminal(local.result.state)) {
          // Ended here without its worker's say: dead-lettered (then re-driven), or seen as
          // interrupted by this gateway's restart. The shared record is the task now.
          const reason = local.result.error?.reason;
          if ((reason === "dead_lettered" || reason === "interrupted") && updatedAtMs(result) > updatedAtMs(local.result)) void store.reopen(taskId, result);
          return;
        }
        if (isTerminal(result.state)) void store.finish(taskId, result);
        else if (result.state !== local.result.state) store.update(taskId, result);
      };
      const stop = backend.store.watch("result/", (change) => {
        if (change.value === undefined) return;
        try {
          apply(change.key.slice("result/".length), decodeSharedRecord(change.value).result);
        } catch (err) {
          o.logger.warn("unreadable shared task record", { key: change.key, error: String(err) });
        }
      });
      // What changed while the gateway was down: every task it still sees as not ended (or as interrupted).
      for (const key of await backend.store.keys("result/")) {
        const taskId = key.slice("result/".length);
        const local = store.get(taskId);
        if (local === undefined || (isTerminal(local.result.state) && local.result.error?.reason !== "interrupted")) continue;
        const cur = await readSharedRecord(backend.store, taskId);
        if (cur !== undefined) apply(taskId, cur.record.result);
      }
      // A task whose worker died on its last attempt is dead-lettered by the queue alone: record that outcome.
      const reconciled = new Set<string>();
      const reconcile = async () => {
        for (const letter of await backend.queue.deadLetters()) {
          const seen = `${letter.id}@${letter.deadAt}`;
          if (reconciled.has(seen)) continue;
          // Only a record nobody touched since the letter died: a re-drive reopens it later.
          await advanceSharedRecord(backend.store, letter.id, (cur) => (updatedAtMs(cur.result) > letter.deadAt ? undefined : {
            ...cur, result: withState(cur.result, TaskState.FAILED, { error: deadLetteredError(letter.attempts, letter.errors) }),
          }));
          reconciled.add(seen);
        }
      };
      const timer = setInterval(() => {
        reconcile().catch((err: unknown) => o.logger.warn("could not reconcile dead letters", { error: String(err) }));
      }, deadLetterScanMs);
      timer.unref();
      return () => {
        clearInterval(timer);
        stop();
      };
    },
  };
}
