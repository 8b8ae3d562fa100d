/**
 * The contracts of queued work, each with two adapters: embedded (no server;
 * durable on local disk, shared by every process on one machine) and NATS
 * JetStream (past one machine). `openQueueBackend` (backend.ts) picks one from
 * AGENTMESH_QUEUE; one conformance suite (conformance.ts) runs unchanged against both.
 *
 * - `TaskQueue`: work-queue subjects (one per intent), explicit ack, nak with
 *   back-off, a maximum number of deliveries and then a dead-letter record that keeps
 *   every attempt's reason, dedup by message id (the task id).
 * - `KvStore`: task results, idempotency records and saga state, with
 *   compare-and-set by revision.
 * - `ArtifactStore`: large inputs and outputs, by id, with digest and size.
 */

/** A message to enqueue. */
export interface QueueMessage {
  /** Dedup key (the task id): a second enqueue with an id already accepted is absorbed. */
  readonly id: string;
  /** The work queue (e.g. the intent); `[a-z0-9_.-]+`, dot-separated tokens. */
  readonly subject: string;
  readonly data: Uint8Array;
  /** Small string metadata carried with the message (lowercase names). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One delivery of a message to a consumer. Exactly one of ack, nak, term settles it. */
export interface Delivery {
  readonly id: string;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** 1 for the first delivery, 2 for the first redelivery, ... */
  readonly attempt: number;
  /** The reasons earlier attempts of this message gave (nak), oldest first. */
  readonly errors: readonly string[];
  /** Done: never delivered again. */
  ack(): Promise<void>;
  /**
   * Failed, retryably: delivered again after `delayMs` (default: the queue's
   * back-off for this attempt), or dead-lettered with every reason when this was
   * the last allowed attempt.
   */
  nak(reason: string, delayMs?: number): Promise<void>;
  /** Failed for good: dead-lettered at once with every reason, this one last. */
  term(reason: string): Promise<void>;
  /** Still working: pushes the redelivery deadline (ack wait) out again. */
  working(): Promise<void>;
}

/** A message that ran out of attempts or was terminated. */
export interface DeadLetter {
  readonly id: string;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly attempts: number;
  /** One reason per failed attempt, oldest first. */
  readonly errors: readonly string[];
  /** Epoch ms. */
  readonly deadAt: number;
}

/** Settings shared by both queue adapters. */
export interface QueueSettings {
  /** A delivery not acked, nak'ed or `working()` within this long is delivered again (a consumer died); default 30 s. */
  readonly ackWaitMs?: number;
  /** Deliveries before a message is dead-lettered; default 5. */
  readonly maxDeliveries?: number;
  /** Delay before redelivery after the n-th failed attempt (last entry repeats); default [1000, 5000, 15000]. */
  readonly backoffMs?: readonly number[];
}

/** A running consumer. */
export interface QueueConsumer {
  /** Stops taking messages and waits for the handlers running now to settle. */
  stop(): Promise<void>;
}

/** Options of `TaskQueue.consume`. */
export interface ConsumeOptions {
  /** Most deliveries this consumer handles at once; default 1. */
  readonly maxInFlight?: number;
}

/** A durable work queue. Every consumer of a subject competes: each message goes to one of them at a time. */
export interface TaskQueue {
  /** Accepts a message durably before resolving; `duplicate` when its id was accepted before (nothing is added). */
  enqueue(message: QueueMessage): Promise<{ duplicate: boolean }>;
  /**
   * Starts a durable consumer of `subject`. The handler settles each delivery; a
   * handler that throws naks it with the error's message.
   */
  consume(subject: string, handler: (delivery: Delivery) => Promise<void>, options?: ConsumeOptions): QueueConsumer;
  /** Messages accepted and not yet acked or dead-lettered, per subject (all subjects when unset). */
  depth(subject?: string): Promise<number>;
  /** Dead letters, oldest first (of one subject when set). */
  deadLetters(subject?: string): Promise<DeadLetter[]>;
  /**
   * Puts a dead letter back on its queue with a fresh attempt count (and, when
   * `data` is given, that body instead of its old one: e.g. fresh credentials);
   * false when there is none with that id.
   */
  redrive(id: string, data?: Uint8Array): Promise<boolean>;
  close(): Promise<void>;
}

/** One entry of a `KvStore`. */
export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** Increases with every write of the key. */
  readonly revision: number;
}

/** A change seen by `KvStore.watch`; `value` undefined when the key was deleted. */
export interface KvChange {
  readonly key: string;
  readonly value: Uint8Array | undefined;
  readonly revision: number;
}

/**
 * A durable key-value store. Keys are any strings of 1–256 printable ASCII
 * characters (adapters encode what their engine does not allow: `encodeKvKey`);
 * "/" separates a key's namespace from its id by convention (`result/<task id>`).
 */
export interface KvStore {
  get(key: string): Promise<KvEntry | undefined>;
  /** Writes unconditionally; resolves to the new revision. */
  put(key: string, value: Uint8Array): Promise<number>;
  /** Writes only when the key does not exist (or was deleted); undefined when it does. */
  create(key: string, value: Uint8Array): Promise<number | undefined>;
  /** Writes only when the key's current revision is `revision`; undefined when it is not. */
  update(key: string, value: Uint8Array, revision: number): Promise<number | undefined>;
  delete(key: string): Promise<void>;
  /** The live keys that start with `prefix`, sorted. */
  keys(prefix?: string): Promise<string[]>;
  /**
   * Calls `onChange` for every later write or delete of a key starting with
   * `prefix` (in order per key); returns a function that stops watching.
   */
  watch(prefix: string, onChange: (change: KvChange) => void): () => void;
  close(): Promise<void>;
}

/** What the mesh knows of a stored artifact. */
export interface ArtifactInfo {
  /** Opaque id (`[A-Za-z0-9_-]+`), chosen by the store. */
  readonly id: string;
  /** `sha256:<hex>` of the bytes. */
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** Large task inputs and outputs, stored by id. */
export interface ArtifactStore {
  /** Stores `data` (bytes, or a stream of them) durably; refuses more than `maxBytes` when set. */
  put(data: Uint8Array | AsyncIterable<Uint8Array>, options: { mediaType: string; maxBytes?: number }): Promise<ArtifactInfo>;
  info(id: string): Promise<ArtifactInfo | undefined>;
  /** The bytes, checked against the digest; undefined when there is no such artifact. */
  get(id: string): Promise<{ info: ArtifactInfo; data: Uint8Array } | undefined>;
  delete(id: string): Promise<void>;
  close(): Promise<void>;
}

/** The three stores of one backend. */
export interface QueueBackend {
  /** `embedded` or `nats`, for logs. */
  readonly kind: "embedded" | "nats";
  readonly queue: TaskQueue;
  /** Task results and idempotency records (namespace `result/`, `claim/`, ...). */
  readonly store: KvStore;
  readonly artifacts: ArtifactStore;
  close(): Promise<void>;
}

/**
 * Encodes a key for engines that allow only `[-/_=.A-Za-z0-9]` (NATS KV): every
 * other character, and "=" itself, becomes `=XX` (hex), so the mapping is one to one.
 */
export function encodeKvKey(key: string): string {
  return key.replace(/[^-/_.A-Za-z0-9]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The inverse of `encodeKvKey`. */
export function decodeKvKey(encoded: string): string {
  return encoded.replace(/=([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
