/**
 * The NATS JetStream queue backend: one connection to a NATS server (or cluster)
 * with JetStream, carrying the task queue (nats-queue.ts), the KV store
 * (nats-kv.ts) and the artifact store (nats-artifacts.ts). Past one machine;
 * the embedded backend is its single-machine twin.
 */
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import type { QueueBackend, QueueSettings } from "../queue-types.js";
import { openNatsArtifacts } from "./nats-artifacts.js";
import { openNatsKv } from "./nats-kv.js";
import { openNatsQueue } from "./nats-queue.js";
import { resolveNatsStorage } from "./nats-storage.js";
import type { NatsStorageSettings } from "./nats-storage.js";

/**
 * Connects to `url` (e.g. `nats://127.0.0.1:4222`; several servers comma-separated)
 * and opens the three stores, creating their streams and buckets unless they exist;
 * several processes may open the same backend at once. The connection reconnects
 * without limit (a restarted server is picked up again); queue settings default as
 * in `QueueSettings`, storage settings (replicas, retention) as in nats-storage.ts,
 * and existing streams and buckets are brought towards them (raised, never lowered).
 * Throws `RangeError` for invalid settings (before connecting), the connection's
 * error when no server answers, `QueueReplicasError` when the server cannot place
 * the replicas (e.g. 3 on a single server), and JetStream's error when the server
 * runs without JetStream.
 */
export async function openNatsBackend(url: string, settings?: QueueSettings & NatsStorageSettings): Promise<QueueBackend> {
  const storage = resolveNatsStorage(settings);
  const nc: NatsConnection = await connect({
    servers: url.split(",").map((s) => s.trim()),
    name: "agentmesh",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  try {
    const [queue, store, artifacts] = await Promise.all([openNatsQueue(nc, { storage, ...(settings === undefined ? {} : { settings }) }), openNatsKv(nc, { storage }), openNatsArtifacts(nc, { storage })]);
    return {
      kind: "nats",
      queue,
      store,
      artifacts,
      async close() {
        await Promise.allSettled([queue.close(), store.close(), artifacts.close()]);
        await nc.drain().catch(() => nc.close());
      },
    };
  } catch (err) {
    await nc.close();
    throw err;
  }
}
