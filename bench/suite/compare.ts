/**
 * The measuring loop the delegation scenarios share: load runs with CPU
 * accounting, variants alternated over rounds (order reversed every other
 * round, so slow drift of a shared machine hits both alike), medians and spread,
 * and what saturated.
 */
import * as os from "node:os";
import { median } from "../policy/latency-sample.js";
import { watchCpu } from "./proc-cpu.js";
import type { Figure, LoadRun, SuiteContext } from "./scenario.js";
import { serverLabels } from "./server-pool.js";
import type { Server, ServerKind } from "./server-pool.js";

/** A load level: calls in flight over channels. */
export interface LoadLevel {
  readonly name: string;
  readonly inFlight: number;
  readonly channels: number;
}

/** The high load of `ctx` and the low load (one call at a time) that latency targets are read at. */
export function loadLevels(ctx: SuiteContext): { high: LoadLevel; low: LoadLevel } {
  return {
    high: { name: `${ctx.options.inFlight} in flight`, inFlight: ctx.options.inFlight, channels: ctx.options.channels },
    low: { name: "1 in flight", inFlight: 1, channels: 1 },
  };
}

/** One load run of `level` against `server` (after its warm-up, the first time), with the CPU of every process. */
export async function measureLoad(ctx: SuiteContext, server: Server, level: LoadLevel, round: number): Promise<LoadRun> {
  const spec = { grpcAddress: server.grpcAddress, token: server.token, inFlight: level.inFlight, channels: level.channels };
  const prefix = `${server.kind}-${level.inFlight}-${round}-${Date.now()}`;
  if (!server.warmedUp) {
    await ctx.load.run({ ...spec, ...loadLevels(ctx).high, seconds: ctx.options.warmupSeconds, taskIdPrefix: `${prefix}-warmup` });
    server.warmedUp = true;
  }
  const { value, cpu } = await watchCpu({ server: server.pid, ...ctx.load.pids }, () => ctx.load.run({ ...spec, seconds: ctx.options.seconds, taskIdPrefix: prefix }));
  const run: LoadRun = {
    round, perSecond: value.perSecond, calls: value.calls, p50: value.p50, p99: value.p99, max: value.max, cpu,
    serverCpuPer1000PerHop: ((cpu.processSeconds.server ?? 0) / value.calls / server.hops) * 1000,
  };
  ctx.log(`  ${server.kind} ${level.name} round ${round}: ${run.perSecond.toFixed(0)}/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms; ` +
    `CPU server ${cores(cpu, "server")}, load ${loadCores(cpu).toFixed(2)}, others ${cpu.foreign.toFixed(2)}`);
  return run;
}

/**
 * Runs `measure` for each of `kinds` in every round, alternating the order;
 * returns each kind's runs, in round order.
 */
export async function alternate<T>(ctx: SuiteContext, kinds: readonly ServerKind[], measure: (server: Server, round: number) => Promise<T>): Promise<Record<string, T[]>> {
  const out: Record<string, T[]> = Object.fromEntries(kinds.map((k) => [k, []]));
  const servers = await Promise.all(kinds.map((k) => ctx.servers.get(k)));
  for (let round = 1; round <= ctx.options.rounds; round++) {
    const order = round % 2 === 1 ? servers : [...servers].reverse();
    for (const s of order) out[s.kind]!.push(await measure(s, round));
  }
  return out;
}

/** Each of `kinds` measured at the high load of `ctx`, alternating, labelled for the table. */
export async function compareAtHighLoad(ctx: SuiteContext, kinds: readonly ServerKind[]): Promise<{ runs: Record<string, LoadRun[]>; of: (kind: ServerKind) => { label: string; runs: LoadRun[] } }> {
  const { high } = loadLevels(ctx);
  const runs = await alternate(ctx, kinds, (s, round) => measureLoad(ctx, s, high, round));
  return { runs, of: (kind) => ({ label: serverLabels[kind], runs: runs[kind]! }) };
}

/** Median and spread of `values`. */
export function figureOf(values: readonly number[], unit: string): Figure {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), unit };
}

/** Cores a watched process used ("server", "harness"), two decimals. */
function cores(cpu: LoadRun["cpu"], name: string): string {
  return (cpu.processes[name] ?? 0).toFixed(2);
}

/** Cores the load processes used together. */
export function loadCores(cpu: LoadRun["cpu"]): number {
  return Object.entries(cpu.processes).filter(([n]) => n.startsWith("load")).reduce((sum, [, c]) => sum + c, 0);
}

/**
 * What bounded `runs` (medians over rounds): the server process when it used
 * nearly a core (Node runs JavaScript on one), a load process likewise, the
 * machine when all its cores were busy, else nothing saturated (latency-bound).
 */
export function saturation(runs: readonly LoadRun[]): string {
  const m = (pick: (r: LoadRun) => number) => median(runs.map(pick));
  const server = m((r) => r.cpu.processes.server ?? 0);
  const loadEach = m((r) => Math.max(...Object.entries(r.cpu.processes).filter(([n]) => n.startsWith("load")).map(([, c]) => c)));
  const load = m((r) => loadCores(r.cpu));
  const others = m((r) => r.cpu.foreign);
  const machine = m((r) => r.cpu.machine);
  const numbers = `server ${server.toFixed(2)}, load ${load.toFixed(2)}, others ${others.toFixed(2)} cores`;
  if (server >= 0.85) return `server process (${numbers})`;
  if (loadEach >= 0.85) return `a load process (${numbers})`;
  if (machine >= os.cpus().length - 0.15) return `the machine, all cores busy (${numbers})`;
  return `none: latency-bound (${numbers})`;
}
