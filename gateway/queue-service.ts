/**
 * `QueueService` at the gateway: lists queued tasks and dead letters, and
 * re-drives a dead letter with fresh credentials. A caller sees and re-drives its
 * own tasks only; the auditor role sees every task and re-drives none.
 *
 * A re-drive re-signs the task's hop tokens: their chain, task, intent and
 * approval are taken from the old token, whose signature is checked against the
 * gateway's keys as of the time it was issued (it has usually expired, which is
 * why the task is dead), so nothing on the queue can smuggle in a chain the
 * gateway never signed.
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
  callerKey, constraintDeadlineMs, decodeQueuedTask, decodeSharedRecord, encodeQueuedTask, encodeSharedRecord, invalidArgument, meshError, methodKey,
  parseHopClaims, readSharedRecord, sharedTaskKey, tokenIssuer, validateTaskId, withState,
} from "../mesh/index.js";
import type { DeadLetter, HopTokenIssuer, Identity, MeshCall, MeshServiceImpl, QueueBackend, RequestValidator, SharedTaskRecord } from "../mesh/index.js";

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
        const rec = decodeSharedRecord(entry.value);
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
      const task = decodeQueuedTask(letter.data);
      const hop = await signedHop(o, task.tokens);
      const deadline = constraintDeadlineMs(task.request);
      if (deadline !== undefined && deadline <= Date.now()) {
        throw meshError(Code.FailedPrecondition, `task ${req.taskId} passed its deadline ${new Date(deadline).toISOString()}; delegate it again under a new task id`, { reason: "deadline_passed" });
      }
      const tokens: Record<string, string> = {};
      for (const agent of o.agentsFor(task.request.intent)) tokens[agent] = await o.hopToken(agent, hop, deadline);
      // Back to QUEUED first: a worker that pulls the task must find it not ended.
      const requeued: Result = withState(create(ResultSchema, { ...info.record.result, error: undefined }), TaskState.QUEUED);
      await reopen(backend, req.taskId, info.record.owner, requeued);
      if (!(await backend.queue.redrive(req.taskId, encodeQueuedTask({ ...task, tokens, enqueuedAt: Date.now() })))) {
        throw meshError(Code.NotFound, `no dead-lettered task with id ${req.taskId}`, { reason: "dead_letter_not_found", metadata: { task_id: req.taskId } });
      }
      return { result: requeued };
    },
  };
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

/** The hop claims of a queued task's tokens, checked against the gateway's keys as of when they were issued. */
async function signedHop(o: QueueServiceOptions, tokens: Readonly<Record<string, string>>) {
  const token = Object.values(tokens)[0];
  if (token === undefined) throw meshError(Code.FailedPrecondition, "the dead letter carries no credentials to renew", { reason: "credentials_missing" });
  try {
    const issuedAt = decodeJwt(token).iat ?? 0;
    const { payload } = await jwtVerify(token, o.keys, { issuer: tokenIssuer, subject: o.gateway, currentDate: new Date(issuedAt * 1000) });
    const hop = parseHopClaims(payload);
    if (hop === undefined) throw new Error("no hop claims");
    return hop;
  } catch (err) {
    throw meshError(Code.FailedPrecondition, "the dead letter's credentials were not signed by this gateway; delegate the task again", { reason: "credentials_invalid" }, err);
  }
}

/**
 * Sets a dead task's shared record back to `result`. `advanceSharedRecord` never
 * changes a terminal record, and a dead task's is terminal: this replaces it by
 * compare-and-set on its revision.
 */
async function reopen(backend: QueueBackend, taskId: string, owner: string, result: Result): Promise<void> {
  for (;;) {
    const cur = await readSharedRecord(backend.store, taskId);
    if (cur === undefined) return;
    if ((await backend.store.update(sharedTaskKey(taskId), encodeSharedRecord({ owner, result }), cur.revision)) !== undefined) return;
  }
}
