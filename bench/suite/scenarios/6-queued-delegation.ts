/**
 * Scenario 6: queued delegation against synchronous delegation through the same
 * gateway and worker, on each queue backend (embedded: files on this machine;
 * JetStream: a real nats-server). Each backend has its own mesh (queue-mesh.ts:
 * gateway, worker and nats-server each a process of their own); on each, the
 * delegators (queued-load.ts, processes of their own) run
 *
 *   sync     `Delegate` of test.echo, answered COMPLETED by the worker
 *   queued   `Delegate` with mode QUEUED, answered QUEUED at once; the worker
 *            pulls the task, runs it and writes its result to the shared store,
 *            the gateway mirrors it; the delegator follows the task with
 *            `WatchResult` (one stream per task) to COMPLETED
 *
 * A task's latency is from sending its Delegate to its terminal state reaching
 * the delegator; throughput is tasks completed per second. The four variants
 * (two backends × sync/queued) are measured in every round, the order reversed
 * every other round, each warmed up first; the tables give medians over rounds
 * and the spread, each queued figure next to the sync figure of its own mesh.
 * The worker takes at most AGENTMESH_QUEUE_MAX_IN_FLIGHT queued tasks at once
 * (BENCH_QUEUE_MAX_IN_FLIGHT, default the mesh's own default, 4).
 *
 * --quick: the high load only, runs of 1 s after 1 s of warm-up (a smoke test:
 * a p99 of a few dozen tasks); otherwise the low load (1 in flight) too.
 */
import * as os from "node:os";
import { median } from "../../policy/latency-sample.js";
import { figureOf, loadCores } from "../compare.js";
import { positiveIntEnv } from "../env.js";
import { watchCpu } from "../proc-cpu.js";
import type { CpuWindow } from "../proc-cpu.js";
import { startQueueMesh } from "../queue-mesh.js";
import type { QueueBackendName, QueueMesh } from "../queue-mesh.js";
import { startDelegators } from "../queued-load.js";
import type { DelegationStyle, Delegators } from "../queued-load.js";
import type { LoadRun, Row, Scenario, SuiteContext } from "../scenario.js";

/** One measured run of one variant at one load. */
interface QueueRun extends LoadRun {
  readonly backend: QueueBackendName;
  readonly style: DelegationStyle;
  readonly inFlight: number;
  /** Time to the QUEUED answer (NaN for sync), ms. */
  readonly acceptedP50: number;
  readonly acceptedP99: number;
}

interface Variant {
  readonly mesh: QueueMesh;
  readonly style: DelegationStyle;
  readonly key: string;
}

interface Level {
  readonly name: string;
  readonly inFlight: number;
  readonly channels: number;
}

const backendLabels: Record<QueueBackendName, string> = { embedded: "embedded queue", jetstream: "NATS JetStream" };
const labelOf = (backend: QueueBackendName, style: DelegationStyle) => (style === "sync" ? `sync Delegate (${backendLabels[backend]} mesh)` : `queued, ${backendLabels[backend]}`);

/** Names of the processes the mesh itself runs (CPU counted as the mesh's). */
const meshProcesses = ["gateway", "worker", "nats"];

/** One run of `v` at `level` (round 0: the warm-up), with the CPU of every process. */
async function measure(ctx: SuiteContext, delegators: Delegators, v: Variant, level: Level, seconds: number, round: number): Promise<QueueRun> {
  const spec = { grpcAddress: v.mesh.grpcAddress, token: v.mesh.token, style: v.style, inFlight: level.inFlight, channels: level.channels, seconds };
  const { value, cpu } = await watchCpu({ ...v.mesh.pids, ...delegators.pids }, () => delegators.run({ ...spec, taskIdPrefix: `${v.key}-${level.inFlight}-${round}-${Date.now()}` }));
  const meshSeconds = meshProcesses.reduce((sum, n) => sum + (cpu.processSeconds[n] ?? 0), 0);
  const run: QueueRun = {
    backend: v.mesh.backend, style: v.style, inFlight: level.inFlight, round,
    perSecond: value.perSecond, calls: value.calls, p50: value.p50, p99: value.p99, max: value.max, cpu,
    // Gateway and worker each handle the task: two hops, as in scenario 3.
    serverCpuPer1000PerHop: (meshSeconds / value.calls / 2) * 1000,
    acceptedP50: value.acceptedP50, acceptedP99: value.acceptedP99,
  };
  ctx.log(`  ${v.key} ${level.name} ${round === 0 ? "warm-up" : `round ${round}`}: ${run.perSecond.toFixed(0)}/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms` +
    `${v.style === "queued" ? ` (QUEUED answer p50 ${run.acceptedP50.toFixed(2)} ms)` : ""}; CPU ${cpuLine(cpu)}`);
  return run;
}

/** Cores of each process of a window, e.g. "gateway 0.61, worker 0.40, nats 0.12, load 0.30, others 0.80". */
function cpuLine(cpu: CpuWindow): string {
  const named = meshProcesses.filter((n) => cpu.processes[n] !== undefined).map((n) => `${n} ${cpu.processes[n]!.toFixed(2)}`);
  return [...named, `load ${loadCores(cpu).toFixed(2)}`, `others ${cpu.foreign.toFixed(2)}`].join(", ");
}

/**
 * What bounded `runs` (medians over rounds): a process that used nearly a core
 * (Node runs JavaScript on one thread), else the machine when all its cores were
 * busy, else nothing (latency-bound); with every process's cores.
 */
function saturation(runs: readonly QueueRun[]): string {
  const m = (pick: (c: CpuWindow) => number) => median(runs.map((r) => pick(r.cpu)));
  const names = [...meshProcesses.filter((n) => runs[0]?.cpu.processes[n] !== undefined), ...Object.keys(runs[0]?.cpu.processes ?? {}).filter((n) => n.startsWith("load"))];
  const cores = Object.fromEntries(names.map((n) => [n, m((c) => c.processes[n] ?? 0)]));
  const numbers = [...meshProcesses.filter((n) => n in cores).map((n) => `${n} ${cores[n]!.toFixed(2)}`),
    `load ${m(loadCores).toFixed(2)}`, `others ${m((c) => c.foreign).toFixed(2)} cores`].join(", ");
  const busiest = names.reduce<string | undefined>((best, n) => (best === undefined || cores[n]! > cores[best]! ? n : best), undefined);
  if (busiest !== undefined && cores[busiest]! >= 0.85) return `${busiest.startsWith("load") ? "a delegator" : `the ${busiest}`} process (${numbers})`;
  if (m((c) => c.machine) >= os.cpus().length - 0.15) return `the machine, all cores busy (${numbers})`;
  return `none: latency-bound (${numbers})`;
}

/** The row comparing `pick` of queued runs with sync runs of the same mesh. */
function row(metric: string, sync: readonly QueueRun[], queued: readonly QueueRun[], pick: (r: QueueRun) => number, unit: string): Row {
  const base = figureOf(sync.map(pick), unit);
  const figure = figureOf(queued.map(pick), unit);
  const { backend } = queued[0]!;
  return {
    metric,
    baseline: { label: labelOf(backend, "sync"), figure: base },
    figure: { label: labelOf(backend, "queued"), figure },
    ratio: { text: `×${(figure.median / base.median).toFixed(2)}`, value: figure.median / base.median },
    target: "—",
    saturated: saturation(queued),
  };
}

/** The rows of one backend: each queued figure next to the sync one of its mesh. */
function backendRows(runs: readonly QueueRun[], backend: QueueBackendName, levels: readonly Level[]): Row[] {
  const of = (style: DelegationStyle, level: Level) => runs.filter((r) => r.backend === backend && r.style === style && r.inFlight === level.inFlight);
  const rows: Row[] = [];
  for (const level of levels) {
    const sync = of("sync", level);
    const queued = of("queued", level);
    const end = "Delegate sent → COMPLETED seen (queued: by WatchResult)";
    rows.push(row(`tasks completed per second, ${level.name}`, sync, queued, (r) => r.perSecond, "tasks/s"));
    rows.push(row(`p50 latency, ${end}, ${level.name}`, sync, queued, (r) => r.p50, "ms"));
    rows.push(row(`p99 latency, ${end}, ${level.name}`, sync, queued, (r) => r.p99, "ms"));
    const accepted = figureOf(queued.map((r) => r.acceptedP50), "ms");
    rows.push({ metric: `p50 time to the QUEUED answer, ${level.name}`, figure: { label: labelOf(backend, "queued"), figure: accepted }, target: "—", saturated: saturation(queued) });
  }
  const high = levels[0]!;
  rows.push(row(`mesh CPU (gateway + worker${backend === "jetstream" ? " + nats-server" : ""}) per 1000 tasks per hop, ${high.name}`,
    of("sync", high), of("queued", high), (r) => r.serverCpuPer1000PerHop, "core-s"));
  return rows;
}

const scenario: Scenario = {
  id: "6",
  title: "queued delegation (embedded, JetStream) vs synchronous",
  servers: [],
  async run(ctx) {
    const o = ctx.options;
    const maxInFlight = positiveIntEnv("BENCH_QUEUE_MAX_IN_FLIGHT", 4);
    // No call is in flight when the meshes stop: a short shutdown grace.
    const queueEnv = { AGENTMESH_QUEUE_MAX_IN_FLIGHT: String(maxInFlight), AGENTMESH_SHUTDOWN_GRACE_MS: "300" };
    // --quick keeps this scenario near 25 s: four variants, two rounds, started from scratch.
    const seconds = o.quick ? Math.min(o.seconds, 1) : o.seconds;
    const warmupSeconds = o.quick ? Math.min(o.warmupSeconds, 1) : o.warmupSeconds;
    const high: Level = { name: `${o.inFlight} in flight`, inFlight: o.inFlight, channels: o.channels };
    const levels: Level[] = o.quick ? [high] : [high, { name: "1 in flight", inFlight: 1, channels: 1 }];
    const settled = await Promise.allSettled([startQueueMesh("embedded", queueEnv), startQueueMesh("jetstream", queueEnv), startDelegators(2)] as const);
    const started = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    try {
      const failed = settled.find((s) => s.status === "rejected");
      if (failed !== undefined) throw failed.reason;
      const [embedded, jetstream, delegators] = started as [QueueMesh, QueueMesh, Delegators];
      ctx.log(`  meshes up (worker takes ${maxInFlight} queued tasks at once); ${levels.map((l) => l.name).join(" and ")}, runs of ${seconds} s`);
      const variants: Variant[] = [embedded, jetstream].flatMap((mesh) => (["sync", "queued"] as const).map((style) => ({ mesh, style, key: `${mesh.backend}-${style}` })));
      for (const v of variants) await measure(ctx, delegators, v, high, warmupSeconds, 0);
      const runs: QueueRun[] = [];
      for (let round = 1; round <= o.rounds; round++) {
        for (const v of round % 2 === 1 ? variants : [...variants].reverse()) {
          for (const level of levels) runs.push(await measure(ctx, delegators, v, level, seconds, round));
        }
      }
      return {
        rows: [...backendRows(runs, "embedded", levels), ...backendRows(runs, "jetstream", levels)],
        raw: { maxInFlight, seconds, runs },
      };
    } finally {
      await Promise.all(started.map((s) => s.stop()));
    }
  },
};
export default scenario;
