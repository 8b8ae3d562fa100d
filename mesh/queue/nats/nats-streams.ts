/**
 * The JetStream streams behind the NATS task queue, their subjects, and the
 * idempotent creation every process runs when it opens the backend.
 *
 * - `AGENTMESH_TASKS` (work-queue retention, file storage): `agentmesh.tasks.<subject>`.
 *   A message leaves it when acked (or dead-lettered). Dedup by `Nats-Msg-Id` within
 *   {@link taskDuplicateWindowMs}. No age or size limit: a queued task is never
 *   dropped by the store (its credentials expire instead, and it is dead-lettered).
 * - `AGENTMESH_DLQ` (limits retention, file storage): `agentmesh.dlq.<id token>`,
 *   one dead letter per message id (a later one replaces an earlier one). Kept for
 *   the dead-letter retention, within the dead-letter byte limit (oldest go first).
 * - `AGENTMESH_ATTEMPTS` (limits retention, file storage): `agentmesh.attempts.<task seq>`,
 *   the reasons of earlier attempts of one queued message. A plain stream rather than
 *   a KV bucket so that clearing a record (purge by subject) leaves no delete marker behind.
 *   Kept for the queue retention (as the KV records).
 *
 * All three have the configured number of replicas (nats-storage.ts).
 */
import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { JetStreamManager, StreamConfig } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { reconcileStreamLimits, resolveNatsStorage, streamLimitConfig, withReplicaCheck } from "./nats-storage.js";
import type { ResolvedNatsStorage, StreamLimits } from "./nats-storage.js";

/** The work stream. */
export const taskStream = "AGENTMESH_TASKS";
/** The dead-letter stream. */
export const deadLetterStream = "AGENTMESH_DLQ";
/** Reasons of earlier attempts, per queued message. */
export const attemptStream = "AGENTMESH_ATTEMPTS";

/**
 * How long the work stream remembers a message id for dedup: 2 minutes (JetStream's
 * default, written down). An id enqueued again later than that is a new message.
 */
export const taskDuplicateWindowMs = 2 * 60_000;

/** Stream name already in use (with another configuration). */
const streamNameExist = 10058;

/** The NATS subject of queue subject `subject`. */
export function taskSubject(subject: string): string {
  return `agentmesh.tasks.${subject}`;
}

/** The queue subject of NATS subject `natsSubject` (the inverse of {@link taskSubject}). */
export function queueSubjectOf(natsSubject: string): string {
  return natsSubject.slice("agentmesh.tasks.".length);
}

/** The dead-letter subject of message id `id` (base64url: one subject token whatever the id holds). */
export function deadLetterSubject(id: string): string {
  return `agentmesh.dlq.${Buffer.from(id, "utf8").toString("base64url") || "_"}`;
}

/** The attempts record subject of the task stream's message `seq`. */
export function attemptSubject(seq: number): string {
  return `agentmesh.attempts.${seq}`;
}

/**
 * The durable consumer name of queue subject `subject`: every character outside
 * `[a-z0-9-]` becomes `_XX` (hex), so names are one to one with subjects and free
 * of the "." that consumer names may not hold.
 */
export function durableName(subject: string): string {
  return `tasks-${subject.replace(/[^a-z0-9-]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}`;
}

/** The replicas and limits of each of the three streams under `storage`. */
export function queueStreamLimits(storage: ResolvedNatsStorage): Record<string, StreamLimits> {
  const { replicas } = storage;
  return {
    [taskStream]: { replicas, maxAgeMs: 0, maxBytes: -1 },
    [deadLetterStream]: { replicas, maxAgeMs: storage.deadLetterRetentionMs, maxBytes: storage.deadLetterMaxBytes },
    [attemptStream]: { replicas, maxAgeMs: storage.retentionMs, maxBytes: -1 },
  };
}

/** The configurations of the three streams under `storage` (default: the defaults of nats-storage.ts). */
export function queueStreamConfigs(storage: ResolvedNatsStorage = resolveNatsStorage()): Array<Partial<StreamConfig> & { name: string }> {
  const limits = queueStreamLimits(storage);
  const limitsOf = (name: string) => streamLimitConfig(limits[name]!);
  return [
    {
      name: taskStream,
      subjects: ["agentmesh.tasks.>"],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(taskDuplicateWindowMs),
      ...limitsOf(taskStream),
    },
    {
      name: deadLetterStream,
      subjects: ["agentmesh.dlq.>"],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      duplicate_window: nanos(taskDuplicateWindowMs),
      discard: DiscardPolicy.Old,
      ...limitsOf(deadLetterStream),
    },
    {
      name: attemptStream,
      subjects: ["agentmesh.attempts.>"],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      ...limitsOf(attemptStream),
    },
  ];
}

/**
 * Creates the queue's streams unless they exist, and brings existing ones towards
 * the replicas and limits of `storage` (raised, never lowered: `reconcileStreamLimits`). Several processes
 * run this at once: creating the same configuration again succeeds, and an existing
 * stream keeps the rest of its configuration.
 * Throws `QueueReplicasError` when the server cannot place the replicas, and what
 * JetStream answers otherwise (e.g. JetStream not enabled).
 */
export async function ensureQueueStreams(jsm: JetStreamManager, storage: ResolvedNatsStorage = resolveNatsStorage()): Promise<void> {
  const limits = queueStreamLimits(storage);
  for (const config of queueStreamConfigs(storage)) {
    const created = await withReplicaCheck(storage.replicas, config.name, async () => {
      try {
        await jsm.streams.add(config);
        return true;
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === streamNameExist) return false;
        throw err;
      }
    });
    if (!created) await reconcileStreamLimits(jsm, config.name, limits[config.name]!);
  }
}
