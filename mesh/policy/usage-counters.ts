/**
 * The usage counters the policy step feeds into `input.usage`: admitted calls and
 * money spent per caller × intent, in fixed windows. Rego is stateless; the mesh
 * keeps these. Each key's window is the one the policy's quota named for it last
 * (a default until then). Counters live in memory and belong to one service
 * process: a restart or another replica starts from zero.
 *
 * Fixed windows, not sliding ones: one number per counter, and an exact time at
 * which the window frees up (the `retry_after_ms` a refused caller gets). The
 * price is that up to twice the limit can pass around a window's end.
 */
import type { PolicyUsage } from "./policy-contract.js";

/** Options of `createUsageCounters`. */
export interface UsageCountersOptions {
  /** Window of a key the policy named no quota for; default 60 s. */
  readonly defaultWindowSeconds?: number;
  /**
   * Most keys kept; default 100,000. Keys whose window ended are dropped once per
   * default window anyway; when the map is full of live windows, the oldest keys go.
   */
  readonly maxKeys?: number;
}

/** Counters per caller × intent; see `createUsageCounters`. */
export interface UsageCounters {
  /** The usage of caller × intent at `nowMs` (epoch ms), for the policy input. */
  read(caller: string, intent: string, nowMs: number): PolicyUsage;
  /** Sets the window the policy's quota named for caller × intent. */
  setWindow(caller: string, intent: string, windowSeconds: number, nowMs: number): void;
  /** Counts one admitted call. */
  countCall(caller: string, intent: string, nowMs: number): void;
  /** Adds money spent by an admitted call. */
  addSpend(caller: string, intent: string, micros: number, nowMs: number): void;
  /** Milliseconds from `nowMs` until the current window of caller × intent ends (0 when none runs). */
  retryAfterMs(caller: string, intent: string, nowMs: number): number;
  /** Number of keys held. */
  readonly size: number;
}

interface Window {
  windowMs: number;
  /** Start of the current window, epoch ms. */
  start: number;
  calls: number;
  spend: number;
}

/** Creates empty counters. */
export function createUsageCounters(options: UsageCountersOptions = {}): UsageCounters {
  const defaultWindowMs = (options.defaultWindowSeconds ?? 60) * 1000;
  const maxKeys = options.maxKeys ?? 100_000;
  const windows = new Map<string, Window>();
  const keyOf = (caller: string, intent: string) => `${caller}\n${intent}`;
  let lastSweep = 0;
  const dropEnded = (nowMs: number) => {
    lastSweep = nowMs;
    for (const [key, w] of windows) {
      if (nowMs >= w.start + w.windowMs) windows.delete(key);
    }
  };

  /** The key's window, rolled over when it ended; created when `create`. */
  const current = (key: string, nowMs: number, create: boolean): Window | undefined => {
    if (nowMs - lastSweep >= defaultWindowMs) dropEnded(nowMs);
    let w = windows.get(key);
    if (w === undefined) {
      if (!create) return undefined;
      makeRoom(nowMs);
      w = { windowMs: defaultWindowMs, start: nowMs, calls: 0, spend: 0 };
      windows.set(key, w);
    } else if (nowMs >= w.start + w.windowMs) {
      w.start = nowMs;
      w.calls = 0;
      w.spend = 0;
    }
    return w;
  };
  const makeRoom = (nowMs: number) => {
    if (windows.size < maxKeys) return;
    dropEnded(nowMs);
    // Still full of live windows: drop the oldest keys (their counts restart).
    const excess = windows.size - Math.floor(maxKeys * 0.9);
    let n = 0;
    for (const key of windows.keys()) {
      if (n++ >= excess) break;
      windows.delete(key);
    }
  };

  return {
    read(caller, intent, nowMs) {
      const w = current(keyOf(caller, intent), nowMs, false);
      if (w === undefined) return { window_seconds: defaultWindowMs / 1000, calls: 0, spend_micros: 0 };
      return { window_seconds: w.windowMs / 1000, calls: w.calls, spend_micros: w.spend };
    },
    setWindow(caller, intent, windowSeconds, nowMs) {
      const windowMs = windowSeconds * 1000;
      const key = keyOf(caller, intent);
      const w = current(key, nowMs, windowMs !== defaultWindowMs);
      if (w !== undefined) w.windowMs = windowMs;
    },
    countCall(caller, intent, nowMs) {
      current(keyOf(caller, intent), nowMs, true)!.calls += 1;
    },
    addSpend(caller, intent, micros, nowMs) {
      if (micros <= 0) return;
      current(keyOf(caller, intent), nowMs, true)!.spend += micros;
    },
    retryAfterMs(caller, intent, nowMs) {
      const w = current(keyOf(caller, intent), nowMs, false);
      return w === undefined ? 0 : w.start + w.windowMs - nowMs;
    },
    get size() {
      return windows.size;
    },
  };
}
