/**
 * Timing of many calls of one function: each call timed on its own
 * (`performance.now()`, sub-microsecond on Linux; its own cost, about 0.1 µs a
 * pair, is in every figure), and the whole loop timed for the rate.
 */
import { performance } from "node:perf_hooks";

/** One measured batch. Times in microseconds. */
export interface LatencySample {
  readonly calls: number;
  /** Calls per second over the whole loop. */
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Times `calls` calls of a synchronous `fn`. */
export function sampleSync(calls: number, fn: () => unknown): LatencySample {
  const times = new Float64Array(calls);
  const start = performance.now();
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    fn();
    times[i] = performance.now() - t;
  }
  return summarize(times, performance.now() - start);
}

/** Times `calls` calls of an asynchronous `fn`, one at a time. */
export async function sampleAsync(calls: number, fn: () => Promise<unknown>): Promise<LatencySample> {
  const times = new Float64Array(calls);
  const start = performance.now();
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await fn();
    times[i] = performance.now() - t;
  }
  return summarize(times, performance.now() - start);
}

/** Nearest-rank percentile `p` (0..100) of sorted `values`. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function summarize(timesMs: Float64Array, wallMs: number): LatencySample {
  const sorted = timesMs.sort();
  let sum = 0;
  for (const t of sorted) sum += t;
  const us = (ms: number) => ms * 1000;
  return {
    calls: sorted.length,
    perSecond: sorted.length / (wallMs / 1000),
    p50: us(percentile(sorted, 50)),
    p99: us(percentile(sorted, 99)),
    max: us(sorted[sorted.length - 1] ?? Number.NaN),
    mean: us(sum / sorted.length),
  };
}
