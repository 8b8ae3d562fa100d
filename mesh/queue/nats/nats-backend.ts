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

/**
 * Connects to `url` (e.g. `nats://127.0.0.1:4222`; several servers comma-separated)
 * and opens the three stores, creating their streams and buckets unless they exist;
 * several processes may open the same backend at once. The connection reconnects
 * without limit (a restarted server is picked up again); queue settings default as
 * in `QueueSettings`. Throws the connection's error when no server answers, and
 * JetStream's when the server runs without JetStream.
 */
export async function openNatsBackend(url: string, settings?: QueueSettings): Promise<QueueBackend> {
  const nc: NatsConnection = await connect({
    servers: url.split(",").map((s) => s.trim()),
    name: "agentmesh",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  try {
    const [queue, store, artifacts] = await Promise.all([openNatsQueue(nc, { ...(settings === undefined ? {} : { settings }) }), openNatsKv(nc), openNatsArtifacts(nc)]);
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
