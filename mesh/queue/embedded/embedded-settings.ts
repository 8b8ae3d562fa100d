/**
 * Settings of the embedded backend: the shared `QueueSettings` plus what only a
 * polling, file-based engine needs. Defaults are filled here, once.
 */
import type { QueueSettings } from "../queue-types.js";
import { resolveQueueSettings } from "../queue-settings.js";
import type { ResolvedQueueSettings } from "../queue-settings.js";

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
export type ResolvedEmbeddedSettings = ResolvedQueueSettings & Required<Omit<EmbeddedQueueSettings, keyof QueueSettings>>;

/**
 * Fills the defaults: the shared ones (queue-settings.ts: ack wait 30 s, 5
 * deliveries, back-off [1 s, 5 s, 15 s]), dedup window 10 min, poll interval
 * 50 ms, background errors ignored.
 *
 * @throws RangeError for settings the shared resolver refuses, or a non-positive poll interval
 */
export function resolveEmbeddedSettings(settings: EmbeddedQueueSettings = {}): ResolvedEmbeddedSettings {
  const resolved: ResolvedEmbeddedSettings = {
    ...resolveQueueSettings(settings),
    dedupWindowMs: settings.dedupWindowMs ?? 10 * 60_000,
    pollIntervalMs: settings.pollIntervalMs ?? 50,
    onError: settings.onError ?? (() => undefined),
  };
  if (!(resolved.pollIntervalMs > 0)) throw new RangeError(`pollIntervalMs must be positive, got ${resolved.pollIntervalMs}`);
  return resolved;
}
