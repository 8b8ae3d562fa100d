import { describe, expect, it } from "vitest";
import { createUsageCounters } from "./usage-counters.js";
import type { UsageCounters } from "./usage-counters.js";

const t0 = 1_795_564_521_000;

describe("createUsageCounters", () => {
  it("reads zero usage in the default window for a pair it has not seen", () => {
    const counters = createUsageCounters();
    expect(counters.read("alice", "copy.draft", t0)).toEqual({ window_seconds: 60, calls: 0, spend_micros: 0 });
    expect(counters.retryAfterMs("alice", "copy.draft", t0)).toBe(0);
    expect(counters.size).toBe(0);
  });

  /** What a pair's counters read `ms` after t0. */
  type Reading = readonly [caller: string, ms: number, usage: { window_seconds: number; calls: number; spend_micros: number }];
  it.each<[string, (c: UsageCounters) => void, Reading[], [ms: number, retryAfterMs: number]]>([
    [
      "counts calls and spend per caller × intent within a window, and starts over when it ends",
      (c) => {
        c.countCall("alice", "copy.draft", t0);
        c.countCall("alice", "copy.draft", t0 + 1000);
        c.addSpend("alice", "copy.draft", 250, t0 + 2000);
        c.countCall("bob", "copy.draft", t0);
        c.countCall("alice", "text.summarize", t0);
      },
      [["alice", 59_999, { window_seconds: 60, calls: 2, spend_micros: 250 }], ["bob", 59_999, { window_seconds: 60, calls: 1, spend_micros: 0 }], ["alice", 60_000, { window_seconds: 60, calls: 0, spend_micros: 0 }]],
      [15_000, 45_000],
    ],
    [
      "uses the window the policy named for a pair",
      (c) => {
        c.setWindow("alice", "copy.draft", 10, t0);
        c.countCall("alice", "copy.draft", t0);
      },
      [["alice", 9_000, { window_seconds: 10, calls: 1, spend_micros: 0 }], ["alice", 10_000, { window_seconds: 10, calls: 0, spend_micros: 0 }]],
      [9_000, 1_000],
    ],
  ])("%s", (_what, use, readings, [retryAt, retryAfter]) => {
    const counters = createUsageCounters();
    use(counters);
    expect(counters.retryAfterMs("alice", "copy.draft", t0 + retryAt)).toBe(retryAfter);
    expect(readings.map(([caller, ms]) => [caller, ms, counters.read(caller, "copy.draft", t0 + ms)])).toEqual(readings);
  });

  it("keeps no key for a pair that only ever had the default window", () => {
    const counters = createUsageCounters();
    counters.setWindow("alice", "copy.draft", 60, t0);
    counters.addSpend("alice", "copy.draft", 0, t0);
    expect(counters.size).toBe(0);
  });

  it("drops pairs whose window ended, once per default window", () => {
    const counters = createUsageCounters({ defaultWindowSeconds: 60 });
    counters.countCall("alice", "copy.draft", t0);
    counters.countCall("bob", "copy.draft", t0 + 30_000);
    counters.countCall("carol", "copy.draft", t0 + 61_000);
    expect(counters.size).toBe(2);
    expect(counters.read("bob", "copy.draft", t0 + 61_000).calls).toBe(1);
  });

  it("stays within maxKeys, dropping ended windows first and then the oldest keys", () => {
    const counters = createUsageCounters({ maxKeys: 10, defaultWindowSeconds: 3600 });
    for (let i = 0; i < 25; i++) counters.countCall(`caller-${i}`, "copy.draft", t0 + i);
    expect(counters.size).toBeLessThanOrEqual(10);
    expect(counters.read("caller-24", "copy.draft", t0 + 25).calls).toBe(1);
    expect(counters.read("caller-0", "copy.draft", t0 + 25).calls).toBe(0);
  });
});
