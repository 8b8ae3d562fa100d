/**
 * How the NATS backend's JetStream storage is laid out: replicas of every
 * stream, the KV bucket and the object store, and the retention limits that keep
 * the store from filling up. Set from AGENTMESH_QUEUE_REPLICAS and the retention
 * variables (mesh/config.ts); the embedded backend ignores them.
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import type { JetStreamManager, StreamConfig } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

/** Storage settings of the NATS backend; every field has a default. */
export interface NatsStorageSettings {
  /** num_replicas of the three queue streams, the KV bucket and the object store, 1–5; default 1. */
  readonly replicas?: number;
  /** max_age of KV records (task records, saga state) and of attempt records, in ms; 0: unlimited; default 7 days. */
  readonly retentionMs?: number;
  /** max_age of dead letters, in ms; 0: unlimited; default `retentionMs` (a dead letter is of use only while its task record lasts), at least 2 min. */
  readonly deadLetterRetentionMs?: number;
  /** max_age of artifacts in the object store, in ms; 0: unlimited; default 7 days. */
  readonly artifactTtlMs?: number;
  /** max_bytes of the KV bucket (writes past it are refused); -1: unlimited (default). */
  readonly kvMaxBytes?: number;
  /** max_bytes of the dead-letter stream (the oldest dead letters go first); -1: unlimited (default). */
  readonly deadLetterMaxBytes?: number;
  /** max_bytes of the object store (uploads past it are refused); -1: unlimited (default). */
  readonly artifactMaxBytes?: number;
}

/** Every storage setting filled in. */
export type ResolvedNatsStorage = Required<NatsStorageSettings>;

const day = 24 * 60 * 60_000;

/** The defaults: R1, KV, attempts and dead letters 7 days, artifacts 7 days, no byte limits. */
export const defaultNatsStorage: ResolvedNatsStorage = {
  replicas: 1,
  retentionMs: 7 * day,
  deadLetterRetentionMs: 7 * day,
  artifactTtlMs: 7 * day,
  kvMaxBytes: -1,
  deadLetterMaxBytes: -1,
  artifactMaxBytes: -1,
};

/** The shortest dead-letter age: JetStream wants max_age at least the duplicate window (2 min, nats-streams.ts). */
export const minDeadLetterRetentionMs = 2 * 60_000;

/** The most replicas JetStream allows. */
export const maxReplicas = 5;

/**
 * Fills in the defaults of `settings` (extra fields are ignored).
 * Throws `RangeError` for replicas outside 1–5, a negative age, or a byte limit
 * that is neither -1 nor positive.
 */
export function resolveNatsStorage(settings: NatsStorageSettings = {}): ResolvedNatsStorage {
  const retentionMs = settings.retentionMs ?? defaultNatsStorage.retentionMs;
  const resolved: ResolvedNatsStorage = {
    replicas: settings.replicas ?? defaultNatsStorage.replicas,
    retentionMs,
    deadLetterRetentionMs: settings.deadLetterRetentionMs ?? (retentionMs === 0 ? 0 : Math.max(retentionMs, minDeadLetterRetentionMs)),
    artifactTtlMs: settings.artifactTtlMs ?? defaultNatsStorage.artifactTtlMs,
    kvMaxBytes: settings.kvMaxBytes ?? defaultNatsStorage.kvMaxBytes,
    deadLetterMaxBytes: settings.deadLetterMaxBytes ?? defaultNatsStorage.deadLetterMaxBytes,
    artifactMaxBytes: settings.artifactMaxBytes ?? defaultNatsStorage.artifactMaxBytes,
  };
  if (!(Number.isInteger(resolved.replicas) && resolved.replicas >= 1 && resolved.replicas <= maxReplicas)) {
    throw new RangeError(`replicas must be an integer from 1 to ${maxReplicas}, got ${resolved.replicas}`);
  }
  for (const key of ["retentionMs", "deadLetterRetentionMs", "artifactTtlMs"] as const) {
    if (!(Number.isInteger(resolved[key]) && resolved[key] >= 0)) throw new RangeError(`${key} must be a non-negative integer (0: unlimited), got ${resolved[key]}`);
  }
  if (resolved.deadLetterRetentionMs !== 0 && resolved.deadLetterRetentionMs < minDeadLetterRetentionMs) {
    throw new RangeError(`deadLetterRetentionMs must be 0 or at least ${minDeadLetterRetentionMs} (the dead-letter stream's duplicate window), got ${resolved.deadLetterRetentionMs}`);
  }
  for (const key of ["kvMaxBytes", "deadLetterMaxBytes", "artifactMaxBytes"] as const) {
    if (!(Number.isInteger(resolved[key]) && (resolved[key] === -1 || resolved[key] > 0))) throw new RangeError(`${key} must be -1 (unlimited) or a positive integer, got ${resolved[key]}`);
  }
  return resolved;
}

/**
 * JetStream's answers to a replica count it cannot honour: 10074 replicas > 1 not
 * supported in non-clustered mode (a single server), 10005 no suitable peers for
 * placement (fewer servers than replicas), 10023 insufficient resources, 10061
 * replicas configuration can not be updated.
 */
const replicaRefusals = new Set([10074, 10005, 10023, 10061]);

/** The NATS server cannot place the configured number of replicas. */
export class QueueReplicasError extends Error {
  override readonly name = "QueueReplicasError";
  /** A configuration mistake: opening again fails the same way. */
  readonly nonRetryable = true;

  constructor(
    readonly replicas: number,
    readonly stream: string,
    cause: unknown,
  ) {
    super(
      `AGENTMESH_QUEUE_REPLICAS=${replicas}: the NATS server cannot keep ${replicas} replicas of stream ${stream} ` +
        `(JetStream: ${(cause as Error).message}). Replicas above 1 need a JetStream cluster of at least that many servers; ` +
        "set AGENTMESH_QUEUE_REPLICAS=1 for a single server",
      { cause },
    );
  }
}

/**
 * Runs `create` (which adds or updates stream `stream`); turns JetStream's refusal
 * of the replica count into {@link QueueReplicasError}, and rethrows anything else.
 */
export async function withReplicaCheck<T>(replicas: number, stream: string, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (replicas > 1 && err instanceof JetStreamApiError && replicaRefusals.has(err.code)) {
      throw new QueueReplicasError(replicas, stream, err);
    }
    throw err;
  }
}

/** The limits one stream should have: replicas, age (ms, 0: none) and bytes (-1: none). */
export interface StreamLimits {
  readonly replicas: number;
  readonly maxAgeMs: number;
  readonly maxBytes: number;
}

/** The stream configuration fields of `limits`. */
export function streamLimitConfig(limits: StreamLimits): Pick<StreamConfig, "num_replicas" | "max_age" | "max_bytes"> {
  return { num_replicas: limits.replicas, max_age: nanos(limits.maxAgeMs), max_bytes: limits.maxBytes };
}

/**
 * The limit an existing stream should move to, or undefined to keep `current`:
 * a stream without a limit (`none`) gets the configured one, and a set limit is
 * only raised. So an open never drops data that the stream would otherwise keep,
 * and processes configured differently (say, mid-rollout) never undo each other:
 * the limit settles on the largest configured. Shortening or removing a limit is
 * an edit by hand (docs/queue.md).
 */
function raisedLimit(current: number, wanted: number, none: number): number | undefined {
  if (wanted === none || wanted === current) return undefined;
  return current === none || wanted > current ? wanted : undefined;
}

/**
 * Brings existing stream `name` towards `limits`: raises its replicas when it has
 * fewer (JetStream copies the data to the new peers; a stream with more replicas
 * keeps them), sets max_age and max_bytes on a stream that has none (messages past
 * them are dropped at once) and raises them when they are lower than configured;
 * it never lowers a limit (see `raisedLimit`). Several processes may run this at
 * once: each sends the same update. Resolves to true when it updated the stream.
 */
export async function reconcileStreamLimits(jsm: JetStreamManager, name: string, limits: StreamLimits): Promise<boolean> {
  const { config } = await jsm.streams.info(name);
  const wanted = streamLimitConfig(limits);
  const update: Partial<StreamConfig> = {};
  if (config.num_replicas < wanted.num_replicas) update.num_replicas = wanted.num_replicas;
  const maxAge = raisedLimit(config.max_age, wanted.max_age, 0);
  if (maxAge !== undefined) {
    update.max_age = maxAge;
    // JetStream wants the duplicate window within max_age (it shortens it itself only on create).
    if (config.duplicate_window > maxAge) update.duplicate_window = maxAge;
  }
  const maxBytes = raisedLimit(config.max_bytes, wanted.max_bytes, -1);
  if (maxBytes !== undefined) update.max_bytes = maxBytes;
  if (Object.keys(update).length === 0) return false;
  await withReplicaCheck(Math.max(config.num_replicas, limits.replicas), name, () => jsm.streams.update(name, update));
  return true;
}

/** JetStream: a message could not be stored (its description says why). */
const storeFailed = 10077;

/** A KV bucket or the object store reached its configured byte limit: writes are refused until older entries expire or are deleted. */
export class QueueStoreFullError extends Error {
  override readonly name = "QueueStoreFullError";

  constructor(what: string, variable: string, maxBytes: number, cause: unknown) {
    super(`${what} is full: ${variable}=${maxBytes} bytes reached, writes are refused until older entries expire or are deleted (or the limit is raised)`, { cause });
  }
}

/**
 * `err` as a {@link QueueStoreFullError} when it is JetStream refusing a write past
 * `maxBytes`, else `err` itself.
 */
export function asStoreFull(err: unknown, what: string, variable: string, maxBytes: number): unknown {
  const full = err instanceof JetStreamApiError && err.code === storeFailed && err.message.includes("maximum bytes exceeded");
  return full ? new QueueStoreFullError(what, variable, maxBytes, err) : err;
}
