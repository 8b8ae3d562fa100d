/**
 * CPU accounting from Linux /proc: busy ticks of the whole machine and CPU ticks
 * of one process (all its threads: V8's GC and compiler threads, libuv's pool).
 * The suite reads them around each measurement to say which process was
 * saturated and how much other processes disturbed the figure.
 */
import { readFileSync } from "node:fs";
import * as os from "node:os";

/** Clock ticks per second in /proc on Linux. */
export const userHz = 100;

/** Busy ticks of the whole machine since boot: all but idle and iowait. */
export function machineTicks(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
}

/** utime + stime ticks of process `pid`. */
export function processTicks(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = st.slice(st.lastIndexOf(")") + 2).split(" ").map(Number);
  return (rest[11] ?? 0) + (rest[12] ?? 0);
}

/** CPU used during one measurement, in cores (1 = one core busy all along). */
export interface CpuWindow {
  /** Wall time of the window, seconds. */
  readonly seconds: number;
  /** Cores used by each watched process, by the name it was watched under. */
  readonly processes: Readonly<Record<string, number>>;
  /** CPU seconds each watched process used. */
  readonly processSeconds: Readonly<Record<string, number>>;
  /** Cores the whole machine was busy. */
  readonly machine: number;
  /** Cores used by everything not watched (and not this process): other engineers' work. */
  readonly foreign: number;
  /** os.loadavg() (1, 5, 15 min) at the end of the window. */
  readonly loadAverage: readonly number[];
}

/**
 * Runs `fn` while watching the processes `pids` (name -> pid) and this one
 * (watched as "harness"), and returns its value with the CPU each used.
 */
export async function watchCpu<T>(pids: Readonly<Record<string, number>>, fn: () => Promise<T>): Promise<{ value: T; cpu: CpuWindow }> {
  const names = Object.keys(pids);
  const before = names.map((n) => processTicks(pids[n]!));
  const busy0 = machineTicks();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const busy1 = machineTicks();
  const after = names.map((n) => processTicks(pids[n]!));
  const self = process.cpuUsage(self0);
  const processSeconds: Record<string, number> = { harness: (self.user + self.system) / 1e6 };
  names.forEach((n, i) => {
    processSeconds[n] = (after[i]! - before[i]!) / userHz;
  });
  const processes = Object.fromEntries(Object.entries(processSeconds).map(([n, s]) => [n, s / seconds]));
  const machine = (busy1 - busy0) / userHz / seconds;
  const watched = Object.values(processes).reduce((a, b) => a + b, 0);
  return { value, cpu: { seconds, processes, processSeconds, machine, foreign: Math.max(0, machine - watched), loadAverage: os.loadavg() } };
}
