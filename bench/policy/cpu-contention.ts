/**
 * How much CPU other processes took while this one measured (Linux /proc): on a
 * 2-vCPU machine one busy neighbour halves the figures, so every measurement
 * says how disturbed it was, and a disturbed one can be taken again.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** Clock ticks per second in /proc/stat on Linux. */
const userHz = 100;

/** CPU use during one measurement, in cores (1 = one core busy all along). */
export interface CpuUse {
  /** This process. */
  readonly self: number;
  /** Everything else on the machine; 0 where /proc/stat cannot be read. */
  readonly foreign: number;
}

/** Runs `fn` and reports its result with the CPU this process and the others used meanwhile. */
export async function withCpuUse<T>(fn: () => Promise<T>): Promise<{ value: T; cpu: CpuUse }> {
  const busy0 = machineBusySeconds();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  const selfUsage = process.cpuUsage(self0);
  const self = (selfUsage.user + selfUsage.system) / 1e6 / wall;
  const busy = busy0 === undefined ? undefined : machineBusySeconds();
  const foreign = busy0 === undefined || busy === undefined ? 0 : Math.max(0, (busy - busy0) / wall - self);
  return { value, cpu: { self, foreign } };
}

/** Waits until other processes use less than `limit` cores (sampled each 0.5 s), for at most `maxMs`. */
export async function waitForQuiet(limit: number, maxMs: number): Promise<boolean> {
  const until = performance.now() + maxMs;
  do {
    const { cpu } = await withCpuUse(() => new Promise((r) => setTimeout(r, 500)));
    if (cpu.foreign < limit) return true;
  } while (performance.now() < until);
  return false;
}

/** Busy CPU seconds of the whole machine since boot (all but idle and iowait), or undefined off Linux. */
function machineBusySeconds(): number | undefined {
  try {
    const ticks = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return (ticks.reduce((a, b) => a + b, 0) - idle) / userHz;
  } catch {
    return undefined;
  }
}
