/**
 * `QueueSettings` with every default filled in, once, for both adapters (the
 * embedded one adds its own knobs: embedded/embedded-settings.ts) and for the
 * services' config (mesh/config.ts).
 */
import type { QueueSettings } from "./queue-types.js";

/** `QueueSettings` with its defaults applied, plus the back-off lookup. */
export interface ResolvedQueueSettings {
  readonly ackWaitMs: number;
  readonly maxDeliveries: number;
  readonly backoffMs: readonly number[];
  /** The delay before redelivery after failed attempt `attempt` (1-based; the last entry repeats). */
  backoffFor(attempt: number): number;
}

/** The contract's defaults: ack wait 30 s, 5 deliveries, back-off 1 s, 5 s, 15 s. */
export const defaultQueueSettings = { ackWaitMs: 30_000, maxDeliveries: 5, backoffMs: [1_000, 5_000, 15_000] } as const;

/**
 * Fills in the defaults of `settings`. Throws `RangeError` for settings no queue
 * can honour (ack wait or deliveries below 1, a negative or empty back-off).
 */
export function resolveQueueSettings(settings: QueueSettings = {}): ResolvedQueueSettings {
  const ackWaitMs = settings.ackWaitMs ?? defaultQueueSettings.ackWaitMs;
  const maxDeliveries = settings.maxDeliveries ?? defaultQueueSettings.maxDeliveries;
  const backoffMs = [...(settings.backoffMs ?? defaultQueueSettings.backoffMs)];
  if (!(ackWaitMs >= 1)) throw new RangeError(`ackWaitMs must be at least 1, got ${ackWaitMs}`);
  if (!(Number.isInteger(maxDeliveries) && maxDeliveries >= 1)) throw new RangeError(`maxDeliveries must be an integer of at least 1, got ${maxDeliveries}`);
  if (backoffMs.length === 0 || backoffMs.some((ms) => !(ms >= 0))) throw new RangeError(`backoffMs must be non-negative delays, at least one, got [${backoffMs.join(", ")}]`);
  return {
    ackWaitMs,
    maxDeliveries,
    backoffMs,
    backoffFor: (attempt) => backoffMs[Math.min(Math.max(attempt, 1), backoffMs.length) - 1]!,
  };
}
