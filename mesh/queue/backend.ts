/**
 * Picks the queue backend from AGENTMESH_QUEUE (read by each service's config.ts,
 * passed here as `url`): unset, empty or "embedded" opens the embedded backend in
 * `dir`; a `nats://` URL opens the NATS JetStream adapter, loaded only then so a
 * mesh without NATS never loads its client.
 */
import type { QueueBackend, QueueSettings } from "./queue-types.js";
import { openEmbeddedBackend } from "./embedded/embedded-backend.js";
import type { NatsStorageSettings } from "./nats/nats-storage.js";

export type { NatsStorageSettings } from "./nats/nats-storage.js";

/**
 * The settings `openQueueBackend` passes on: the queue's (both adapters) and the
 * NATS backend's storage (replicas, retention; the embedded backend ignores them).
 */
export type QueueBackendSettings = QueueSettings & NatsStorageSettings;

/** Options of `openQueueBackend`. */
export interface OpenQueueBackendOptions {
  /** AGENTMESH_QUEUE: undefined, "", "embedded", or `nats://host:port[,nats://...]`. */
  readonly url: string | undefined;
  /** The embedded backend's directory (unused for NATS). */
  readonly dir: string;
  /** Ack wait, deliveries and back-off, and NATS storage (replicas, retention); each adapter's defaults when unset. */
  readonly settings?: QueueBackendSettings;
  /** Hears the errors of the embedded backend's background polling (which goes on after them); ignored when unset. */
  readonly onError?: (err: unknown) => void;
}

/** AGENTMESH_QUEUE holds something that names no backend. */
export class QueueUrlError extends Error {
  override readonly name = "QueueUrlError";
  /** A configuration mistake: the same value fails again. */
  readonly nonRetryable = true;

  constructor(readonly url: string) {
    super(`AGENTMESH_QUEUE=${JSON.stringify(url)} names no queue backend: use "embedded" (or leave it unset) for the embedded backend, or nats://host:port for NATS JetStream`);
  }
}

/**
 * Opens the queue backend that `url` names.
 *
 * @throws QueueUrlError when `url` is neither empty, "embedded" nor a `nats://` URL;
 *   whatever the chosen adapter throws when it cannot open
 */
export async function openQueueBackend(options: OpenQueueBackendOptions): Promise<QueueBackend> {
  const url = parseQueueUrl(options.url);
  if (url === undefined) {
    const { ackWaitMs, maxDeliveries, backoffMs } = options.settings ?? {};
    // The storage settings are the NATS backend's: the embedded one keeps data until it is deleted (docs/queue.md).
    return openEmbeddedBackend(options.dir, { ackWaitMs, maxDeliveries, backoffMs, onError: options.onError });
  }
  const { openNatsBackend } = await import("./nats/nats-backend.js");
  return openNatsBackend(url, options.settings);
}

/**
 * What AGENTMESH_QUEUE names: undefined for the embedded backend (unset, empty or
 * "embedded"), else the `nats://` URL. The one reading of the variable, for the
 * services' config and for `openQueueBackend`.
 *
 * @throws QueueUrlError for anything else
 */
export function parseQueueUrl(raw: string | undefined): string | undefined {
  const url = raw?.trim() ?? "";
  if (url === "" || url === "embedded") return undefined;
  if (/^nats:\/\/[^\s/]+/.test(url)) return url;
  throw new QueueUrlError(url);
}
