/**
 * Tracing-overhead benchmark: the same delegation load through a real gateway
 * and worker with tracing off and on, in one run, and the ratio on/off.
 *
 *   off  OTEL_SDK_DISABLED=true: nothing is exported. Spans are still made (a
 *        result keeps its trace id; telemetry-config.ts), so this is the cost
 *        of exporting, not of the tracing code as a whole
 *   on   OTEL_TRACES_EXPORTER=embedded, the default: every service's spans are
 *        batched into its embedded span store (`<dataDir>/<service>.spans.jsonl`)
 *
 * Each round starts a fresh mesh (gateway + worker-a in one child process,
 * mesh-process.ts) per variant, the variant order reversed every other round.
 * This process is the load generator (delegation-load.ts): `Delegate` of
 * `test.echo` with a unique task id per call, BENCH_IN_FLIGHT calls in flight
 * over BENCH_CHANNELS grpc-js channels, first for a warm-up, then for the
 * measured time. On 2 cores the mesh gets one and the load generator the other.
 * For every measurement the CPU of the mesh process, of this process and of
 * everything else is recorded; the machine is first given up to 5 s to go quiet,
 * and a measurement other processes disturbed is taken again on the same mesh
 * (within a time budget), the less disturbed one kept.
 * Each response is checked (COMPLETED, its task id, the text echoed), and after
 * each mesh stops, its span stores are checked: empty (off), or the same whole
 * number of spans per delegation in every round (on; none dropped; `checkSpanStores`).
 *
 * Usage: npm run bench:tracing [-- --quick]   (about 3.5 min; --quick about 1 min)
 * Env:   BENCH_ROUNDS (default 4, quick 2), BENCH_SECONDS (measured, default 12,
 *        quick 6), BENCH_WARMUP_SECONDS (default 5, quick 3), BENCH_IN_FLIGHT
 *        (default 32), BENCH_CHANNELS (default 4), BENCH_FOREIGN_CPU_LIMIT
 *        (cores, default 0.25).
 * Results: a markdown table on stdout and bench/results/tracing.json (gitignored).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { repoRoot } from "../../tools/index.js";
import { waitForQuiet } from "../policy/cpu-contention.js";
import { median } from "../policy/latency-sample.js";
import { runDelegationLoad } from "./delegation-load.js";
import type { DelegationLoadResult } from "./delegation-load.js";
import { startMeshProcess } from "./mesh-process.js";
import { positiveIntEnv } from "../suite/env.js";

const QUICK = process.argv.includes("--quick");
const ROUNDS = positiveIntEnv("BENCH_ROUNDS", QUICK ? 2 : 4);
const SECONDS = positiveIntEnv("BENCH_SECONDS", QUICK ? 6 : 12);
const WARMUP_SECONDS = positiveIntEnv("BENCH_WARMUP_SECONDS", QUICK ? 3 : 5);
const IN_FLIGHT = positiveIntEnv("BENCH_IN_FLIGHT", 32);
const CHANNELS = positiveIntEnv("BENCH_CHANNELS", 4);
const FOREIGN_CPU_LIMIT = Number(process.env.BENCH_FOREIGN_CPU_LIMIT ?? 0.25);
const USER_HZ = 100; // clock ticks per second in /proc on Linux
/** Measurements per mesh while disturbed; retries stop RETRY_BUDGET_S after the start (full run) so the run stays near 4 minutes. */
const ATTEMPTS = 2;
const RETRY_BUDGET_S = QUICK ? 20 : 90;
/** Spans a mesh may store that belong to no delegation (about 12 in a run here). */
const MAX_OTHER_SPANS = 200;

interface Variant {
  readonly key: "off" | "on";
  readonly label: string;
  readonly env: Readonly<Record<string, string>>;
}

/** Both variants name every setting, so that OTEL_* variables of the caller's shell change neither. */
const VARIANTS: readonly Variant[] = [
  { key: "off", label: "tracing off (OTEL_SDK_DISABLED=true)", env: { OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "none", OTEL_TRACES_SAMPLER: "parentbased_always_on" } },
  { key: "on", label: "tracing on (embedded span store)", env: { OTEL_SDK_DISABLED: "false", OTEL_TRACES_EXPORTER: "embedded", OTEL_TRACES_SAMPLER: "parentbased_always_on" } },
];

/** CPU use during one measurement, in cores (1 = one core busy all along). */
interface CpuUse {
  readonly mesh: number;
  readonly load: number;
  /** Everything else: machine - mesh - load. */
  readonly foreign: number;
}

/** One measured run of one variant. */
interface Measured extends DelegationLoadResult {
  readonly round: number;
  /** Which attempt this is (see `measureUndisturbed`). */
  readonly attempts: number;
  readonly cpu: CpuUse;
  /** Mesh CPU seconds per 1000 delegations (= ms of mesh CPU per delegation). */
  readonly meshCpuPer1000: number;
  /** Delegations this run's mesh served in all (warm-up and every attempt). */
  readonly served: number;
  /** Whole spans its span stores held per delegation served; 0 when tracing is off. */
  readonly spansPerDelegation: number;
  /** Spans beyond those: the worker's registration and the like. */
  readonly otherSpans: number;
  /** Span-store bytes per delegation served (the other spans included). */
  readonly spanBytesPerDelegation: number;
}

/** A measurement before its mesh has stopped. */
type Taken = Omit<Measured, "served" | "spansPerDelegation" | "otherSpans" | "spanBytesPerDelegation">;

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

const spread = (values: readonly number[]): Spread => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

/** Busy ticks of the whole machine (all but idle and iowait). */
function machineTicks(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
}

/** utime + stime ticks of process `pid` (its threads included: V8's GC and compiler threads). */
function processTicks(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = st.slice(st.lastIndexOf(")") + 2).split(" ").map(Number);
  return (rest[11] ?? 0) + (rest[12] ?? 0);
}

/** Starts a mesh for `v`, warms it up, measures it (again while disturbed, see `measureUndisturbed`) and stops it. */
async function measure(v: Variant, round: number, deadline: number): Promise<Measured> {
  const mesh = await startMeshProcess(v.env);
  let measured: Taken;
  let served = 0;
  try {
    const load = async (seconds: number, phase: string) => {
      const r = await runDelegationLoad({
        grpcAddress: mesh.grpcAddress, token: mesh.token, channels: CHANNELS, inFlight: IN_FLIGHT, seconds, taskIdPrefix: `bench-${v.key}-${round}-${phase}`,
      });
      served += r.calls;
      return r;
    };
    await load(WARMUP_SECONDS, "warmup");
    measured = await measureUndisturbed(deadline, async (attempt) => {
      const [busy0, mesh0, t0] = [machineTicks(), processTicks(mesh.pid), performance.now()];
      const r = await load(SECONDS, `measured${attempt}`);
      const [busy1, mesh1] = [machineTicks(), processTicks(mesh.pid)];
      const ticks = ((performance.now() - t0) / 1000) * USER_HZ;
      const meshCores = (mesh1 - mesh0) / ticks;
      const cpu = { mesh: meshCores, load: r.loadCpu, foreign: Math.max(0, (busy1 - busy0) / ticks - meshCores - r.loadCpu) };
      return { ...r, round, attempts: attempt, cpu, meshCpuPer1000: ((mesh1 - mesh0) / USER_HZ / r.calls) * 1000 };
    });
  } catch (err) {
    await mesh.stop();
    throw err;
  }
  const stored = await mesh.stop();
  const perDelegation = Math.floor(stored.spans / served);
  return { ...measured, served, spansPerDelegation: perDelegation, otherSpans: stored.spans - perDelegation * served, spanBytesPerDelegation: stored.bytes / served };
}

/**
 * Takes a measurement; while other processes took more than FOREIGN_CPU_LIMIT
 * cores, waits up to 5 s for a quiet machine and takes it again (ATTEMPTS in all,
 * and none after `deadline`), keeping the least disturbed one.
 */
async function measureUndisturbed(deadline: number, take: (attempt: number) => Promise<Taken>): Promise<Taken> {
  let best: Taken | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    await waitForQuiet(FOREIGN_CPU_LIMIT, 5_000);
    const m = await take(attempt);
    if (best === undefined || m.cpu.foreign < best.cpu.foreign) best = m;
    if (m.cpu.foreign <= FOREIGN_CPU_LIMIT || performance.now() > deadline) break;
  }
  return best!;
}

function summarize(runs: readonly Measured[]) {
  return {
    perSecond: spread(runs.map((r) => r.perSecond)),
    p50Ms: spread(runs.map((r) => r.p50)),
    p99Ms: spread(runs.map((r) => r.p99)),
    maxMs: Math.max(...runs.map((r) => r.max)),
    meshCpuCores: spread(runs.map((r) => r.cpu.mesh)),
    loadCpuCores: spread(runs.map((r) => r.cpu.load)),
    foreignCpuCoresMax: Math.max(...runs.map((r) => r.cpu.foreign)),
    meshCpuSecondsPer1000: spread(runs.map((r) => r.meshCpuPer1000)),
    spansPerDelegation: spread(runs.map((r) => r.spansPerDelegation)),
    spanBytesPerDelegation: spread(runs.map((r) => r.spanBytesPerDelegation)),
    disturbedRuns: runs.filter((r) => r.cpu.foreign > FOREIGN_CPU_LIMIT).length,
  };
}

const n = (x: number, digits: number) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const fmt = (s: Spread, digits: number) => `${n(s.median, digits)} (${n(s.min, digits)}–${n(s.max, digits)})`;

async function main(): Promise<void> {
  const started = performance.now();
  const runs: Record<Variant["key"], Measured[]> = { off: [], on: [] };
  const deadline = started + RETRY_BUDGET_S * 1000;
  process.stderr.write(`${ROUNDS} rounds; per variant and round a fresh mesh, ${WARMUP_SECONDS} s warm-up, ${SECONDS} s measured; ${IN_FLIGHT} calls in flight over ${CHANNELS} channels\n`);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const v of order) {
      const m = await measure(v, round + 1, deadline);
      runs[v.key].push({ ...m, latencies: [] });
      process.stderr.write(`round ${round + 1}/${ROUNDS} ${v.key}: ${n(m.perSecond, 0)} delegations/s, p50 ${n(m.p50, 1)} ms, p99 ${n(m.p99, 1)} ms; ` +
        `CPU mesh ${n(m.cpu.mesh, 2)}, load ${n(m.cpu.load, 2)}, others ${n(m.cpu.foreign, 2)}; mesh CPU ${n(m.meshCpuPer1000, 3)} s/1000\n`);
    }
  }
  checkSpanStores(runs);
  const summary = { off: summarize(runs.off), on: summarize(runs.on) };
  // The pairs of one round ran back to back, so their ratio cancels slow drift of the machine.
  const paired = runs.on.map((on, i) => on.perSecond / runs.off[i]!.perSecond);
  const ratios = {
    perSecond: summary.on.perSecond.median / summary.off.perSecond.median,
    perSecondPaired: spread(paired),
    p50: summary.on.p50Ms.median / summary.off.p50Ms.median,
    p99: summary.on.p99Ms.median / summary.off.p99Ms.median,
    meshCpuPer1000: summary.on.meshCpuSecondsPer1000.median / summary.off.meshCpuSecondsPer1000.median,
  };
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", node: process.version, platform: `${os.platform()} ${os.release()}` };
  const saturated = (s: ReturnType<typeof summarize>) => {
    if (s.meshCpuCores.median >= 0.9) return `the mesh process (${n(s.meshCpuCores.median, 2)} cores; load generator ${n(s.loadCpuCores.median, 2)})`;
    if (s.loadCpuCores.median >= 0.9) return `the load generator (${n(s.loadCpuCores.median, 2)} cores; mesh ${n(s.meshCpuCores.median, 2)})`;
    return `neither process reached 0.9 core (mesh ${n(s.meshCpuCores.median, 2)}, load generator ${n(s.loadCpuCores.median, 2)}): the machine was shared, others took up to ${n(s.foreignCpuCoresMax, 2)} of ${machine.cpus} cores`;
  };

  const row = (v: Variant) => {
    const s = summary[v.key];
    return `| ${v.label} | ${fmt(s.perSecond, 0)} | ${n(s.p50Ms.median, 1)} | ${n(s.p99Ms.median, 1)} | ${fmt(s.meshCpuSecondsPer1000, 3)} | ` +
      `${n(s.meshCpuCores.median, 2)} | ${n(s.loadCpuCores.median, 2)} | ${n(s.foreignCpuCoresMax, 2)} |`;
  };
  const lines = [
    `Tracing overhead — ${machine.cpus} vCPU ${machine.cpuModel}, Node ${machine.node}; Delegate test.echo through gateway → worker-a (one process), ` +
      `${IN_FLIGHT} in flight over ${CHANNELS} grpc-js channels; ${ROUNDS} rounds × ${SECONDS} s after ${WARMUP_SECONDS} s warm-up, fresh mesh each; median over rounds (min–max)`,
    "",
    "| variant | delegations/s | p50 ms | p99 ms | mesh CPU s per 1000 delegations | mesh CPU (cores) | load generator CPU | others' CPU (max) |",
    "|---|---|---|---|---|---|---|---|",
    ...VARIANTS.map(row),
    "",
    `on/off: delegations/s ×${n(ratios.perSecond, 3)} (paired per round ${fmt(ratios.perSecondPaired, 3)}), p50 ×${n(ratios.p50, 2)}, p99 ×${n(ratios.p99, 2)}, ` +
      `mesh CPU per delegation ×${n(ratios.meshCpuPer1000, 3)}`,
    `spans stored per delegation with tracing on: ${n(summary.on.spansPerDelegation.median, 0)} (none dropped), ${n(summary.on.spanBytesPerDelegation.median, 0)} bytes`,
    `saturated (medians): off — ${saturated(summary.off)}; on — ${saturated(summary.on)}`,
    `measurements disturbed by other processes (over ${FOREIGN_CPU_LIMIT} cores) after up to ${ATTEMPTS} attempts: off ${summary.off.disturbedRuns} of ${ROUNDS}, on ${summary.on.disturbedRuns} of ${ROUNDS}`,
  ];
  const md = lines.join("\n");
  process.stdout.write(`\n${md}\n\n`);

  const resultsDir = join(repoRoot, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, "tracing.json");
  writeFileSync(file, `${JSON.stringify({
    when: new Date().toISOString(),
    machine,
    config: { quick: QUICK, rounds: ROUNDS, attempts: ATTEMPTS, retryBudgetSeconds: RETRY_BUDGET_S, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, inFlight: IN_FLIGHT, channels: CHANNELS, foreignCpuLimit: FOREIGN_CPU_LIMIT, variants: VARIANTS },
    durationSeconds: (performance.now() - started) / 1000,
    summary,
    ratios,
    runs,
    markdown: md,
  }, null, 2)}\n`);
  process.stderr.write(`wrote ${file} (${n((performance.now() - started) / 1000, 0)} s)\n`);
}

/**
 * Throws unless no "off" mesh stored a span and every "on" mesh stored the same
 * whole number of spans per delegation in every round, plus at most
 * MAX_OTHER_SPANS others (registration and the like): fewer would mean the batch
 * processor dropped spans (its queue full), which would make tracing look
 * cheaper than it is.
 */
function checkSpanStores(runs: Record<Variant["key"], Measured[]>): void {
  const first = runs.on[0]?.spansPerDelegation ?? Number.NaN;
  const bad = [
    ...runs.off.filter((r) => r.spansPerDelegation !== 0 || r.otherSpans !== 0).map((r) => `off round ${r.round}: ${r.spansPerDelegation * r.served + r.otherSpans} spans stored`),
    ...runs.on.filter((r) => !(r.spansPerDelegation > 0 && r.spansPerDelegation === first && r.otherSpans <= MAX_OTHER_SPANS))
      .map((r) => `on round ${r.round}: ${r.spansPerDelegation} spans per delegation and ${r.otherSpans} others (round 1: ${first} per delegation)`),
  ];
  if (bad.length > 0) throw new Error(`tracing was not as the variant asked: ${bad.join("; ")}`);
}

await main();
