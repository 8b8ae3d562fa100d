/**
 * `QueueService` at the gateway: lists queued tasks and dead letters, and
 * re-drives a dead letter with fresh credentials. A caller sees and re-drives its
 * own tasks only; the auditor role sees every task and re-drives none.
 *
 * A re-drive re-signs the task's hop tokens: their chain, task, intent, caller,
 * request and approval are taken from the old tokens, whose signatures are
 * checked against the gateway's current keys at the time each was issued (they
 * have usually expired, which is why the task is dead), so nothing on the queue
 * can smuggle in a chain, caller or request the gateway never signed. Only a
 * task that left the queue without an outcome is re-driven.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { decodeJwt, jwtVerify } from "jose";
import type { JWTVerifyGetKey } from "jose";
import { QueueService } from "../gen/agentmesh/v1/queue_pb.js";
import type { ListDeadLettersRequest, ListTasksRequest, RetryDeadLetterRequest } from "../gen/agentmesh/v1/queue_pb.js";
import { ResultSchema, TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import {
  advanceSharedRecord, callerKey, constraintDeadlineMs, decodeQueuedTask, decodeSharedRecord, delegateRequestDigest, encodeQueuedTask, invalidArgument, isTerminal, stateName, meshError, methodKey,
  parseHopClaims, readSharedRecord, tokenIssuer, validateTaskId, withState,
} from "../mesh/index.js";
import type { DeadLetter, HopClaims, HopTokenIssuer, Identity, MeshCall, MeshServiceImpl, QueueBackend, QueuedTask, RequestValidator, SharedTaskRecord } from "../mesh/index.js";

/** Options of `createQueueServiceImpl`. */
export interface QueueServiceOptions {
  readonly backend: QueueBackend;
  /** The gateway's name: the subject its hop tokens carry. */
  readonly gateway: string;
  /** Keys that verify the gateway's own tokens. */
  readonly keys: JWTVerifyGetKey;
  readonly hopToken: HopTokenIssuer;
  readonly agentsFor: (intent: string) => readonly string[];
}

const defaultLimit = 100;

/** Creates the service implementation. */
export function createQueueServiceImpl(o: QueueServiceOptions): MeshServiceImpl<typeof QueueService> {
  const { backend } = o;
  const visible = (rec: SharedTaskRecord, caller: Identity) => rec.owner === caller.subject || caller.role === "auditor";
  return {
    async listTasks(req: ListTasksRequest, call: MeshCall) {
      const caller = call.values.get(callerKey)!;
      const tasks: { owner: string; result: Result }[] = [];
      for (const key of await backend.store.keys("result/")) {
        const entry = await backend.store.get(key);
        if (entry === undefined) continue;
        const rec = readable(entry.value);
        if (rec === undefined) continue;
        if (!visible(rec, caller)) continue;
        if (req.intent !== "" && rec.result.intent !== req.intent) continue;
        if (req.state !== TaskState.UNSPECIFIED && rec.result.state !== req.state) continue;
        tasks.push(rec);
      }
      tasks.sort((a, b) => Number((b.result.createdAt?.seconds ?? 0n) - (a.result.createdAt?.seconds ?? 0n)));
      return { tasks: tasks.slice(0, req.limit === 0 ? defaultLimit : req.limit) };
    },
    async listDeadLetters(req: ListDeadLettersRequest, call: MeshCall) {
      const caller = call.values.get(callerKey)!;
      const out = [];
      for (const letter of await backend.queue.deadLetters()) {
        const info = await describe(backend, letter);
        if (info === undefined || !visible(info.record, caller)) continue;
        if (req.intent !== "" && info.intent !== req.intent) continue;
        out.push({ taskId: letter.id, intent: info.intent, owner: info.record.owner, attempts: letter.attempts, errors: [...letter.errors], deadAt: timestampFromMs(letter.deadAt) });
      }
      return { deadLetters: out };
    },
    async retryDeadLetter(req: RetryDeadLetterRequest, call: MeshCall) {
      const caller = call.values.get(callerKey)!;
      const letter = (await backend.queue.deadLetters()).find((l) => l.id === req.taskId);
      const info = letter === undefined ? undefined : await describe(backend, letter);
      if (letter === undefined || info === undefined || !visible(info.record, caller)) {
        throw meshError(Code.NotFound, `no dead-lettered task with id ${req.taskId}`, { reason: "dead_letter_not_found", metadata: { task_id: req.taskId } });
      }
      if (info.record.owner !== caller.subject) {
        throw meshError(Code.PermissionDenied, `task ${req.taskId} may be re-driven only by the caller that delegated it`, { reason: "not_task_owner" });
      }
      const ended = info.record.result;
      // Only a task that left the queue without an outcome runs again; one that ended (its worker died before the ack) keeps its outcome.
      if (!mayRedrive(ended)) throw taskEnded(req.taskId, ended);
      let task: QueuedTask;
      try {
        task = decodeQueuedTask(letter.data);
      } catch (err) {
        throw meshError(Code.FailedPrecondition, `the dead letter of task ${req.taskId} is unreadable; delegate the task again`, { reason: "dead_letter_unreadable" }, err);
      }
      const hop = await signedHop(o, task, req.taskId, ended.intent);
      const deadline = constraintDeadlineMs(task.request);
      if (deadline !== undefined && deadline <= Date.now()) {
        throw meshError(Code.FailedPrecondition, `task ${req.taskId} passed its deadline ${new Date(deadline).toISOString()}; delegate it again under a new task id`, { reason: "deadline_passed" });
      }
      const agents = o.agentsFor(ended.intent);
      if (agents.length === 0) {
        throw meshError(Code.FailedPrecondition, `no agent is configured to offer intent ${ended.intent} any more`, { reason: "no_worker", metadata: { intent: ended.intent } });
      }
      const tokens: Record<string, string> = {};
      for (const agent of agents) tokens[agent] = await o.hopToken(agent, hop, deadline);
      // Back to QUEUED first: a worker that pulls the task must find it not ended.
      const requeued: Result = withState(create(ResultSchema, { ...ended, error: undefined }), TaskState.QUEUED);
      // Checked again inside the compare-and-set: a concurrent re-drive or a worker may have moved the record since it was read.
      const reopened = await advanceSharedRecord(backend.store, req.taskId, (cur) => (mayRedrive(cur.result) ? { ...cur, result: requeued } : undefined), { reopen: true });
      if (reopened?.result !== requeued) throw taskEnded(req.taskId, reopened?.result ?? ended);
      if (!(await backend.queue.redrive(req.taskId, encodeQueuedTask({ ...task, tokens, enqueuedAt: Date.now() })))) {
        throw meshError(Code.NotFound, `no dead-lettered task with id ${req.taskId}`, { reason: "dead_letter_not_found", metadata: { task_id: req.taskId } });
      }
      return { result: requeued };
    },
  };
}

/** A task may be re-driven while it has no outcome: not ended, or ended only by the dead-letter queue. */
function mayRedrive(result: Result): boolean {
  return !isTerminal(result.state) || result.error?.reason === "dead_lettered";
}

function taskEnded(taskId: string, result: Result) {
  return meshError(Code.FailedPrecondition, `task ${taskId} already ended ${stateName(result.state)}; it is not run again`, { reason: "task_ended", metadata: { task_id: taskId } });
}

/** Validators of the three methods. */
export function createQueueValidators(): Map<string, RequestValidator> {
  const m = QueueService.method;
  return new Map<string, RequestValidator>([
    [methodKey(m.listTasks), (msg) => {
      const req = msg as ListTasksRequest;
      if (req.limit < 0 || req.limit > 1000) throw invalidArgument("invalid ListTasksRequest: limit must be between 0 and 1000", "request_invalid", [{ field: "limit", description: "must be between 0 and 1000" }]);
    }],
    [methodKey(m.listDeadLetters), () => undefined],
    [methodKey(m.retryDeadLetter), (msg) => validateTaskId((msg as RetryDeadLetterRequest).taskId)],
  ]);
}

async function describe(backend: QueueBackend, letter: DeadLetter): Promise<{ intent: string; record: SharedTaskRecord } | undefined> {
  const shared = await readSharedRecord(backend.store, letter.id);
  if (shared === undefined) return undefined;
  return { intent: shared.record.result.intent, record: shared.record };
}

/**
 * The hop claims of a dead letter's tokens, as the gateway signed them: every
 * token must verify against the gateway's current keys as of the time it was
 * issued (a token is usually expired by now, which is why the task died), name
 * this task and its intent, and be bound to this very request.
 */
async function signedHop(o: QueueServiceOptions, task: QueuedTask, taskId: string, intent: string): Promise<HopClaims> {
  const tokens = Object.values(task.tokens);
  if (tokens.length === 0) throw meshError(Code.FailedPrecondition, "the dead letter carries no credentials to renew", { reason: "credentials_missing" });
  let first: HopClaims | undefined;
  try {
    for (const token of tokens) {
      const issuedAt = decodeJwt(token).iat ?? 0;
      const { payload } = await jwtVerify(token, o.keys, { issuer: tokenIssuer, subject: o.gateway, currentDate: new Date(issuedAt * 1000) });
      const hop = parseHopClaims(payload);
      if (hop?.taskId !== taskId || hop.intent !== intent) throw new Error("the token names another task");
      if (hop.request !== undefined && hop.request !== delegateRequestDigest(task.request)) throw new Error("the token was issued for another request");
      first ??= hop;
    }
  } catch (err) {
    throw meshError(Code.FailedPrecondition, "the dead letter's credentials were not signed by this gateway for this task (or its key was rotated out); delegate the task again", {
      reason: "credentials_invalid",
    }, err);
  }
  return first!;
}

/** A shared record, or undefined when it cannot be read (it is left out of listings). */
function readable(value: Uint8Array): SharedTaskRecord | undefined {
  try {
    return decodeSharedRecord(value);
  } catch {
    return undefined;
  }
}
