/**
 * Settings of the embedded backend: the shared `QueueSettings` plus what only a
 * polling, file-based engine needs. Defaults are filled here, once.
 */
import type { QueueSettings } from "../queue-types.js";

/** `QueueSettings` plus the embedded engine's own knobs. */
export interface EmbeddedQueueSettings extends QueueSettings {
  /** How long an acked message's id still absorbs duplicates; default 10 min. */
  readonly dedupWindowMs?: number;
  /** Fallback poll interval of consumers and KV watchers (file-change events come first); default 50 ms. */
  readonly pollIntervalMs?: number;
  /**
   * Told of failures in a consumer's background pass (e.g. a full or read-only
   * disk); the consumer keeps polling. Default: ignored, so pass a logger.
   */
  readonly onError?: (err: unknown) => void;
}

/** Every setting filled in. */
export type ResolvedEmbeddedSettings = Required<EmbeddedQueueSettings>;

/**
 * Fills the defaults: ack wait 30 s, 5 deliveries, back-off [1 s, 5 s, 15 s],
 * dedup window 10 min, poll interval 50 ms, background errors ignored.
 *
 * @throws RangeError for a non-positive ack wait, maxDeliveries or poll interval, or an empty back-off
 */
export function resolveEmbeddedSettings(settings: EmbeddedQueueSettings = {}): ResolvedEmbeddedSettings {
  const resolved: ResolvedEmbeddedSettings = {
    ackWaitMs: settings.ackWaitMs ?? 30_000,
    maxDeliveries: settings.maxDeliveries ?? 5,
    backoffMs: settings.backoffMs ?? [1000, 5000, 15_000],
    dedupWindowMs: settings.dedupWindowMs ?? 10 * 60_000,
    pollIntervalMs: settings.pollIntervalMs ?? 50,
    onError: settings.onError ?? (() => undefined),
  };
  if (!(resolved.ackWaitMs > 0)) throw new RangeError(`ackWaitMs must be positive, got ${resolved.ackWaitMs}`);
  if (!(resolved.maxDeliveries >= 1)) throw new RangeError(`maxDeliveries must be at least 1, got ${resolved.maxDeliveries}`);
  if (resolved.backoffMs.length === 0) throw new RangeError("backoffMs must not be empty");
  if (!(resolved.pollIntervalMs > 0)) throw new RangeError(`pollIntervalMs must be positive, got ${resolved.pollIntervalMs}`);
  return resolved;
}

/** The delay before redelivery after the `attempt`-th failed attempt (the last entry repeats). */
export function backoffFor(settings: ResolvedEmbeddedSettings, attempt: number): number {
  const { backoffMs } = settings;
  return backoffMs[Math.min(attempt - 1, backoffMs.length - 1)] ?? 0;
}
