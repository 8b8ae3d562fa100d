/**
 * What travels through the queue for one queued delegation, and the task's
 * record in the shared store.
 *
 * The envelope carries the request and the credentials the gateway signed for
 * it: one hop token per agent the intent may run on (each bound to that agent,
 * carrying the task's chain, id, intent and approval), plus the forwarded caller
 * and trace headers. A worker replica that pulls it runs it through its own
 * governance chain exactly as if the gateway had called it, so a queued task is
 * authenticated, validated and checked by policy on the worker like any other.
 *
 * The shared record `result/<task id>` holds the task's owner and latest result:
 * the gateway writes QUEUED, a worker moves it to WORKING and then to its
 * terminal state, a Cancel moves it to CANCELED; every write is a compare-and-set
 * on the record's revision, so a terminal state is never overwritten.
 */
import { create, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { JsonValue } from "@bufbuild/protobuf";
import { DelegateRequestSchema } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import { DelegationMode, ResultSchema, TaskErrorSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result, TaskError } from "../../gen/agentmesh/v1/task_pb.js";
import { isTerminal } from "../tasks/task-states.js";
import type { KvEntry, KvStore } from "./queue-types.js";

/** A queued delegation as it sits on the queue. */
export interface QueuedTask {
  /** The request, as the worker is to run it (mode SYNC: on the worker it runs to its end). */
  readonly request: DelegateRequest;
  /** Bearer token per agent name: the gateway's hop token bound to that agent. */
  readonly tokens: Readonly<Record<string, string>>;
  /** Forwarded caller and trace headers (lowercase names). */
  readonly headers: Readonly<Record<string, string>>;
  /** Epoch ms. */
  readonly enqueuedAt: number;
}

interface QueuedTaskJson {
  v: 1;
  request: string;
  tokens: Record<string, string>;
  headers: Record<string, string>;
  enqueuedAt: number;
}

/** The queue subject of an intent's tasks. */
export function taskSubject(intent: string): string {
  return `tasks.${intent.toLowerCase().replace(/[^a-z0-9_.-]/g, "_")}`;
}

/** Encodes an envelope for the queue. */
export function encodeQueuedTask(task: QueuedTask): Uint8Array {
  const doc: QueuedTaskJson = {
    v: 1,
    request: Buffer.from(toBinary(DelegateRequestSchema, task.request)).toString("base64"),
    tokens: { ...task.tokens },
    headers: { ...task.headers },
    enqueuedAt: task.enqueuedAt,
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}

/** Decodes an envelope; throws `MalformedQueuedTaskError` on anything else. */
export function decodeQueuedTask(data: Uint8Array): QueuedTask {
  let doc: Partial<QueuedTaskJson>;
  try {
    doc = JSON.parse(new TextDecoder().decode(data)) as Partial<QueuedTaskJson>;
  } catch (err) {
    throw new MalformedQueuedTaskError(`not JSON: ${String(err)}`);
  }
  if (doc.v !== 1 || typeof doc.request !== "string" || typeof doc.tokens !== "object" || typeof doc.headers !== "object" || typeof doc.enqueuedAt !== "number") {
    throw new MalformedQueuedTaskError("not a version 1 queued task");
  }
  try {
    return { request: fromBinary(DelegateRequestSchema, Buffer.from(doc.request, "base64")), tokens: doc.tokens, headers: doc.headers, enqueuedAt: doc.enqueuedAt };
  } catch (err) {
    throw new MalformedQueuedTaskError(`bad request: ${String(err)}`);
  }
}

/** A queue message that is not a queued task: it can never run, so it goes to the dead-letter queue. */
export class MalformedQueuedTaskError extends Error {
  override readonly name = "MalformedQueuedTaskError";
  readonly nonRetryable = true;
}

/** The shared record of a queued task. */
export interface SharedTaskRecord {
  /** Subject of the caller that delegated the task. */
  readonly owner: string;
  /** The request's fingerprint (mesh/interceptors/idempotency.ts): the same id for another request is a conflict on every gateway. */
  readonly fingerprint?: string;
  readonly result: Result;
}

/** Key of a task's shared record. */
export function sharedTaskKey(taskId: string): string {
  return `result/${taskId}`;
}

/** Encodes a shared record. */
export function encodeSharedRecord(rec: SharedTaskRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ owner: rec.owner, fingerprint: rec.fingerprint, result: toJson(ResultSchema, rec.result) }));
}

/** Decodes a shared record. */
export function decodeSharedRecord(value: Uint8Array): SharedTaskRecord {
  const doc = JSON.parse(new TextDecoder().decode(value)) as { owner: string; fingerprint?: string; result: JsonValue };
  return { owner: doc.owner, ...(doc.fingerprint === undefined ? {} : { fingerprint: doc.fingerprint }), result: fromJson(ResultSchema, doc.result, { ignoreUnknownFields: true }) };
}

/** Reads a task's shared record with its revision; undefined when there is none. */
export async function readSharedRecord(store: KvStore, taskId: string): Promise<{ record: SharedTaskRecord; revision: number } | undefined> {
  const entry: KvEntry | undefined = await store.get(sharedTaskKey(taskId));
  return entry === undefined ? undefined : { record: decodeSharedRecord(entry.value), revision: entry.revision };
}

/**
 * Moves a task's shared record to `next(current)` by compare-and-set, retrying on
 * a concurrent write. A terminal record is never changed (the function then
 * resolves to it unchanged) unless `reopen` is set: a re-drive of a dead-lettered
 * task replaces its FAILED record. `next` returning undefined leaves the record as
 * it is. Resolves to the record as it stands afterwards (undefined when there is none).
 */
export async function advanceSharedRecord(
  store: KvStore,
  taskId: string,
  next: (current: SharedTaskRecord) => SharedTaskRecord | undefined,
  options: { reopen?: boolean } = {},
): Promise<SharedTaskRecord | undefined> {
  for (;;) {
    const cur = await readSharedRecord(store, taskId);
    if (cur === undefined) return undefined;
    if (options.reopen !== true && isTerminal(cur.record.result.state)) return cur.record;
    const updated = next(cur.record);
    if (updated === undefined) return cur.record;
    if ((await store.update(sharedTaskKey(taskId), encodeSharedRecord(updated), cur.revision)) !== undefined) return updated;
  }
}

/** Epoch ms of a snapshot's `updatedAt` (0 when unset). */
export function updatedAtMs(result: Result): number {
  return result.updatedAt === undefined ? 0 : timestampMs(result.updatedAt);
}

/** A copy of `req` that runs to its end on the worker (mode SYNC). */
export function asWorkerRequest(req: DelegateRequest): DelegateRequest {
  return create(DelegateRequestSchema, { ...req, mode: DelegationMode.SYNC });
}

/** The error of a task that left the queue without an outcome: how many attempts it had and why each failed. */
export function deadLetteredError(attempts: number, reasons: readonly string[]): TaskError {
  return create(TaskErrorSchema, {
    code: "unavailable",
    message: `dead-lettered after ${attempts} attempt(s): ${reasons.join("; ")}`,
    retryable: false,
    reason: "dead_lettered",
  });
}
