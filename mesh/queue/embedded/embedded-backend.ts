/**
 * The embedded queue backend: task queue, KV store and artifact store in one
 * directory on local disk, no server. Every process on the machine that opens the
 * same directory shares them safely (the gateway enqueues, worker processes
 * consume, replicas compete); opening it again after a crash or restart finds
 * everything that was accepted.
 */
import type { QueueBackend } from "../queue-types.js";
import { ensureDirs } from "./fs-files.js";
import { createEmbeddedArtifacts } from "./embedded-artifacts.js";
import { createEmbeddedKv } from "./embedded-kv.js";
import { createEmbeddedQueue } from "./embedded-queue.js";
import type { EmbeddedQueueSettings } from "./embedded-settings.js";
import { resolveEmbeddedSettings } from "./embedded-settings.js";

/**
 * Opens (creating when missing) the embedded backend in `dir`.
 *
 * @param dir the shared directory (e.g. `$AGENTMESH_HOME/queue`)
 * @param settings ack wait (default 30 s), deliveries (5), back-off ([1 s, 5 s, 15 s]),
 *   dedup window (10 min), poll interval (50 ms), `onError` for background failures (ignored)
 * @throws RangeError for invalid settings; the filesystem's error when `dir` cannot be created
 */
export async function openEmbeddedBackend(dir: string, settings?: EmbeddedQueueSettings): Promise<QueueBackend> {
  const resolved = resolveEmbeddedSettings(settings);
  await ensureDirs(dir);
  const queue = await createEmbeddedQueue({ dir, settings: resolved, onError: resolved.onError });
  const store = await createEmbeddedKv({ dir, pollIntervalMs: resolved.pollIntervalMs });
  const artifacts = await createEmbeddedArtifacts({ dir });
  return {
    kind: "embedded",
    queue,
    store,
    artifacts,
    close: async () => {
      await queue.close();
      await store.close();
      await artifacts.close();
    },
  };
}
