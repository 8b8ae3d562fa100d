/**
 * `KvStore` on a JetStream KV bucket (default `agentmesh`, file storage, history 1,
 * the configured replicas; a record is dropped once the queue retention has passed
 * since its last write, and writes past the bucket's byte limit are refused).
 * Keys go through `encodeKvKey`, plus one more escape NATS needs: a "." that would
 * start or end the key or leave an empty token becomes `=2e`, which `decodeKvKey`
 * turns back into "." (encodeKvKey never writes `=2e` itself, so keys stay one to one).
 */
import { Kvm, KvWatchInclude } from "@nats-io/kv";
import type { KV, KvWatchEntry } from "@nats-io/kv";
import { JetStreamApiError, JetStreamApiCodes, StorageType, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection, QueuedIterator } from "@nats-io/transport-node";
import { decodeKvKey, encodeKvKey } from "../queue-types.js";
import type { KvChange, KvEntry, KvStore } from "../queue-types.js";
import { asStoreFull, reconcileStreamLimits, resolveNatsStorage, withReplicaCheck } from "./nats-storage.js";
import type { NatsStorageSettings } from "./nats-storage.js";

/** The bucket the backend's store uses unless told otherwise. */
export const defaultKvBucket = "agentmesh";

/** Options of {@link openNatsKv}. */
export interface NatsKvOptions {
  /** Bucket name; default {@link defaultKvBucket}. */
  readonly bucket?: string;
  /** Where failures of a watch go (it stops); default: dropped. */
  readonly onError?: (err: unknown) => void;
  /** Replicas, record age (`retentionMs`) and byte limit (`kvMaxBytes`); defaults as in nats-storage.ts. */
  readonly storage?: NatsStorageSettings;
}

/** A key as stored in NATS: `encodeKvKey`, then the dots NATS refuses escaped. */
export function natsKvKey(key: string): string {
  return encodeKvKey(key).replace(/\.(?=\.|$)/g, "=2e").replace(/^\./, "=2e");
}

/** True for a JetStream "wrong last sequence" answer: the compare-and-set lost. */
function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/**
 * Opens (creating unless it exists) the KV bucket on connection `nc`, which stays
 * the caller's to close, and brings an existing bucket towards the replicas and limits
 * of `options.storage`. Throws `QueueReplicasError` when the server cannot place
 * the replicas, and JetStream's error when the server has no JetStream; writes
 * past the bucket's byte limit throw `QueueStoreFullError`.
 */
export async function openNatsKv(nc: NatsConnection, options: NatsKvOptions = {}): Promise<KvStore> {
  const storage = resolveNatsStorage(options.storage);
  const bucket = options.bucket ?? defaultKvBucket;
  const stream = `KV_${bucket}`;
  const kv: KV = await withReplicaCheck(storage.replicas, stream, () =>
    new Kvm(nc).create(bucket, { history: 1, storage: StorageType.File, replicas: storage.replicas, ttl: storage.retentionMs, max_bytes: storage.kvMaxBytes }),
  );
  await reconcileStreamLimits(await jetstreamManager(nc), stream, { replicas: storage.replicas, maxAgeMs: storage.retentionMs, maxBytes: storage.kvMaxBytes });
  const full = (err: unknown) => asStoreFull(err, `the KV bucket ${bucket}`, "AGENTMESH_QUEUE_KV_MAX_BYTES", storage.kvMaxBytes);
  const watchers = new Set<QueuedIterator<KvWatchEntry>>();
  // Writes through this store wait until the watches started before them are
  // listening, so a watch sees every write made after `watch()` returned.
  const starting = new Set<Promise<unknown>>();
  const afterWatchesStart = async () => {
    if (starting.size > 0) await Promise.allSettled([...starting]);
  };

  return {
    async get(key) {
      const entry = await kv.get(natsKvKey(key));
      if (entry === null || entry.operation !== "PUT") return undefined;
      return { key, value: new Uint8Array(entry.value), revision: entry.revision } satisfies KvEntry;
    },

    async put(key, value) {
      await afterWatchesStart();
      return kv.put(natsKvKey(key), value).catch((err: unknown) => {
        throw full(err);
      });
    },

    async create(key, value) {
      await afterWatchesStart();
      try {
        return await kv.create(natsKvKey(key), value);
      } catch (err) {
        if (isWrongLastSequence(err)) return undefined;
        throw full(err);
      }
    },

    async update(key, value, revision) {
      await afterWatchesStart();
      if (!(revision > 0)) return undefined;
      try {
        return await kv.update(natsKvKey(key), value, revision);
      } catch (err) {
        if (isWrongLastSequence(err)) return undefined;
        throw full(err);
      }
    },

    async delete(key) {
      await afterWatchesStart();
      await kv.delete(natsKvKey(key));
    },

    async keys(prefix = "") {
      const out: string[] = [];
      for await (const encoded of await kv.keys()) {
        const key = decodeKvKey(encoded);
        if (key.startsWith(prefix)) out.push(key);
      }
      return out.sort();
    },

    watch(prefix, onChange) {
      let stopped = false;
      let iterator: QueuedIterator<KvWatchEntry> | undefined;
      // Prefixes are not subject tokens (keys may hold "."), so the filter is applied here.
      const listening = kv.watch({ key: ">", include: KvWatchInclude.UpdatesOnly });
      starting.add(listening);
      const run = async () => {
        const it = await listening.finally(() => starting.delete(listening));
        iterator = it;
        watchers.add(it);
        if (stopped) it.stop();
        try {
          for await (const entry of it) {
            if (stopped) break;
            const key = decodeKvKey(entry.key);
            if (!key.startsWith(prefix)) continue;
            const change: KvChange = { key, value: entry.operation === "PUT" ? new Uint8Array(entry.value) : undefined, revision: entry.revision };
            try {
              onChange(change);
            } catch (err) {
              options.onError?.(err);
            }
          }
        } finally {
          watchers.delete(it);
        }
      };
      run().catch((err: unknown) => options.onError?.(err));
      return () => {
        stopped = true;
        iterator?.stop();
      };
    },

    close() {
      for (const it of watchers) it.stop();
      watchers.clear();
      return Promise.resolve();
    },
  };
}
