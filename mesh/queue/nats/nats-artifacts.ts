/**
 * `ArtifactStore` on the JetStream Object Store (bucket default
 * `agentmesh-artifacts`, file storage, the configured replicas; an artifact is
 * dropped once the artifact TTL has passed since its upload, and uploads past the
 * store's byte limit are refused). Each artifact is an object named by a
 * random url-safe id; its media type rides in the object's metadata, its size and
 * SHA-256 are the object store's own record, which `put` checks against the
 * digest it computes itself while streaming the bytes in, and `get` checks again
 * on the bytes it reads.
 */
import { createHash, randomBytes } from "node:crypto";
import { Objm, StorageType } from "@nats-io/obj";
import type { ObjectInfo, ObjectStore } from "@nats-io/obj";
import { jetstreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { ArtifactDigestError, ArtifactTooLargeError } from "../queue-errors.js";
import type { ArtifactInfo, ArtifactStore } from "../queue-types.js";
import { asStoreFull, reconcileStreamLimits, resolveNatsStorage, withReplicaCheck } from "./nats-storage.js";
import type { NatsStorageSettings } from "./nats-storage.js";

/** The bucket the backend's artifacts use unless told otherwise. */
export const defaultArtifactBucket = "agentmesh-artifacts";

/** Options of {@link openNatsArtifacts}. */
export interface NatsArtifactsOptions {
  /** Bucket name; default {@link defaultArtifactBucket}. */
  readonly bucket?: string;
  /** Replicas, artifact age (`artifactTtlMs`) and byte limit (`artifactMaxBytes`); defaults as in nats-storage.ts. */
  readonly storage?: NatsStorageSettings;
}

const mediaTypeKey = "media-type";
/** The object store's digest prefix (base64url of the SHA-256 follows). */
const objectDigestPrefix = "SHA-256=";

/** `sha256:<hex>` of the object store's `SHA-256=<base64url>` digest. */
function digestOf(info: ObjectInfo): string {
  const encoded = info.digest.startsWith(objectDigestPrefix) ? info.digest.slice(objectDigestPrefix.length) : "";
  return `sha256:${Buffer.from(encoded, "base64url").toString("hex")}`;
}

function toArtifactInfo(info: ObjectInfo): ArtifactInfo {
  return {
    id: info.name,
    digest: digestOf(info),
    size: info.size,
    mediaType: info.metadata?.[mediaTypeKey] ?? "application/octet-stream",
    createdAt: Date.parse(info.mtime),
  };
}

/** A random url-safe id: 16 random bytes, base64url. */
function newArtifactId(): string {
  return randomBytes(16).toString("base64url");
}

/**
 * Opens (creating unless it exists) the artifact bucket on connection `nc`, which
 * stays the caller's to close, and brings an existing bucket towards the replicas and
 * limits of `options.storage`. `put` throws `ArtifactTooLargeError` past
 * `maxBytes` (nothing is kept); `get` throws `ArtifactDigestError` when the bytes
 * read do not match the recorded digest, and `QueueStoreFullError` when the store
 * holds its byte limit. Throws `QueueReplicasError` when the server cannot place
 * the replicas.
 */
export async function openNatsArtifacts(nc: NatsConnection, options: NatsArtifactsOptions = {}): Promise<ArtifactStore> {
  const storage = resolveNatsStorage(options.storage);
  const bucket = options.bucket ?? defaultArtifactBucket;
  const stream = `OBJ_${bucket}`;
  const os: ObjectStore = await withReplicaCheck(storage.replicas, stream, () =>
    new Objm(nc).create(bucket, { storage: StorageType.File, replicas: storage.replicas, ttl: nanos(storage.artifactTtlMs), max_bytes: storage.artifactMaxBytes }),
  );
  await reconcileStreamLimits(await jetstreamManager(nc), stream, { replicas: storage.replicas, maxAgeMs: storage.artifactTtlMs, maxBytes: storage.artifactMaxBytes });

  return {
    async put(data, { mediaType, maxBytes }) {
      if (data instanceof Uint8Array && maxBytes !== undefined && data.length > maxBytes) throw new ArtifactTooLargeError(maxBytes);
      const id = newArtifactId();
      const hash = createHash("sha256");
      let size = 0;
      let tooLarge: ArtifactTooLargeError | undefined;
      const iterator: Iterator<Uint8Array> | AsyncIterator<Uint8Array> = data instanceof Uint8Array ? [data][Symbol.iterator]() : data[Symbol.asyncIterator]();
      // Pulled by the object store chunk by chunk; an error here makes it purge what it wrote.
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = await iterator.next();
          if (next.done === true) {
            controller.close();
            return;
          }
          size += next.value.length;
          if (maxBytes !== undefined && size > maxBytes) {
            tooLarge = new ArtifactTooLargeError(maxBytes);
            await iterator.return?.();
            controller.error(tooLarge);
            return;
          }
          hash.update(next.value);
          controller.enqueue(next.value);
        },
        async cancel() {
          await iterator.return?.();
        },
      });
      let info: ObjectInfo;
      try {
        info = await os.put({ name: id, metadata: { [mediaTypeKey]: mediaType } }, stream);
      } catch (err) {
        throw tooLarge ?? asStoreFull(err, "the artifact store", "AGENTMESH_ARTIFACT_STORE_MAX_BYTES", storage.artifactMaxBytes);
      }
      const computed = `sha256:${hash.digest("hex")}`;
      const stored = toArtifactInfo(info);
      if (stored.digest !== computed || stored.size !== size) {
        await os.delete(id).catch(() => undefined);
        throw new ArtifactDigestError(id, computed, stored.digest);
      }
      return stored;
    },

    async info(id) {
      const info = await os.info(id);
      return info === null || info.deleted ? undefined : toArtifactInfo(info);
    },

    async get(id) {
      const result = await os.get(id);
      if (result === null) return undefined;
      const info = toArtifactInfo(result.info);
      const parts: Uint8Array[] = [];
      const hash = createHash("sha256");
      const reader = result.data.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          hash.update(value);
          parts.push(value);
        }
        const failed = await result.error;
        if (failed) throw failed;
      } catch (err) {
        // The object store checks its own digest as it reads and fails the stream on a mismatch.
        if (err instanceof Error && err.message.includes("digests do not match")) throw new ArtifactDigestError(id, info.digest, `sha256:${hash.digest("hex")}`);
        throw err;
      }
      const actual = `sha256:${hash.digest("hex")}`;
      if (actual !== info.digest) throw new ArtifactDigestError(id, info.digest, actual);
      return { info, data: new Uint8Array(Buffer.concat(parts)) };
    },

    async delete(id) {
      const info = await os.info(id);
      if (info === null || info.deleted) return;
      await os.delete(id);
    },

    async close() {
      // The connection is the backend's; the object store holds nothing else open.
    },
  };
}
