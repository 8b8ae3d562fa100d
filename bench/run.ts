/**
 * The benchmark suite: runs every scenario in bench/suite/scenarios/ (a file
 * `<number>-<name>.ts` whose default export is a `Scenario`, see
 * bench/suite/scenario.ts) and writes BENCHMARKS.md and bench/benchmarks.json
 * (the same figures, with every round and the machine's load).
 *
 * Usage: npm run bench [-- --quick] [-- --only 3,5] [-- --report]
 *   --quick   2 rounds of 2 s (within 2 minutes in all); default 4 rounds of 8 s
 *   --only    the scenarios with these ids
 *   --merge   with --only: keep the other scenarios of bench/benchmarks.json and
 *             replace these (each scenario says when it was measured and how loaded)
 *   --report  measure nothing: write BENCHMARKS.md again from bench/benchmarks.json
 *             (after editing bench/suite/findings.md or a new profile summary)
 * Env: BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_IN_FLIGHT (32), BENCH_CHANNELS (4).
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../tools/index.js";
import { median } from "./policy/latency-sample.js";
import { measureSyncLatency } from "./suite/disk-sync.js";
import { startLoadGenerators } from "./suite/load-process.js";
import { benchmarksMarkdown } from "./suite/report.js";
import type { RunInfo, ScenarioOutcome } from "./suite/report.js";
import type { LoadRun, Scenario, SuiteContext, SuiteOptions } from "./suite/scenario.js";
import { createServerPool } from "./suite/server-pool.js";
import { positiveIntEnv } from "./suite/env.js";

const quick = process.argv.includes("--quick");
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt >= 0 ? new Set((process.argv[onlyAt + 1] ?? "").split(",")) : undefined;
const options: SuiteOptions = {
  quick,
  rounds: positiveIntEnv("BENCH_ROUNDS", quick ? 2 : 4),
  seconds: positiveIntEnv("BENCH_SECONDS", quick ? 2 : 8),
  warmupSeconds: positiveIntEnv("BENCH_WARMUP_SECONDS", quick ? 1 : 4),
  inFlight: positiveIntEnv("BENCH_IN_FLIGHT", 32),
  channels: positiveIntEnv("BENCH_CHANNELS", 4),
};

/** The scenarios in bench/suite/scenarios/, in the order of their numbers. */
async function loadScenarios(): Promise<Scenario[]> {
  const dir = join(repoRoot, "bench", "suite", "scenarios");
  const files = readdirSync(dir).filter((f) => /^\d+-[\w-]+\.ts$/.test(f)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  const all = await Promise.all(files.map(async (f) => ((await import(pathToFileURL(join(dir, f)).href)) as { default: Scenario }).default));
  return all.filter((s) => only === undefined || only.has(s.id));
}

if (process.argv.includes("--report")) {
  const saved = JSON.parse(readFileSync(join(repoRoot, "bench", "benchmarks.json"), "utf8")) as RunInfo & { scenarios: ScenarioOutcome[] };
  writeFileSync(join(repoRoot, "BENCHMARKS.md"), benchmarksMarkdown(saved, saved.scenarios));
  process.stderr.write("wrote BENCHMARKS.md from bench/benchmarks.json\n");
  process.exit(0);
}

const started = performance.now();
const loadAverageStart = os.loadavg();
const syncBefore = await measureSyncLatency();
const log = (line: string) => process.stderr.write(`${line}\n`);
const scenarios = await loadScenarios();
log(`${scenarios.length} scenarios, ${options.rounds} rounds of ${options.seconds} s (${quick ? "quick" : "full"})`);
const servers = createServerPool();
const load = await startLoadGenerators(2);
const ctx: SuiteContext = { options, servers, load, log };
const outcomes: ScenarioOutcome[] = [];
const raw: Record<string, unknown> = {};
try {
  for (const s of scenarios) {
    log(`scenario ${s.id}: ${s.title}`);
    const t0 = performance.now();
    try {
      await Promise.all(s.servers.map((k) => servers.get(k)));
      const report = await s.run(ctx);
      const foreign = loadRuns(report.raw).map((r) => r.cpu.foreign);
      outcomes.push({
        id: s.id, title: s.title, rows: report.rows, seconds: (performance.now() - t0) / 1000, measuredAt: new Date().toISOString(),
        foreignCores: { median: foreign.length === 0 ? 0 : median(foreign), max: foreign.length === 0 ? 0 : Math.max(...foreign) },
      });
      raw[s.id] = report.raw;
    } catch (err) {
      log(`scenario ${s.id} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      outcomes.push({ id: s.id, title: s.title, rows: [], seconds: (performance.now() - t0) / 1000, error: err instanceof Error ? err.message : String(err) });
    }
  }
} finally {
  await load.stop();
  await servers.stopAll();
}

/** Every load run in `value`, however a scenario nested them. */
function loadRuns(value: unknown): LoadRun[] {
  if (Array.isArray(value)) return value.flatMap(loadRuns);
  if (typeof value !== "object" || value === null) return [];
  if ("serverCpuPer1000PerHop" in value) return [value as LoadRun];
  return Object.values(value).flatMap(loadRuns);
}
const foreign = loadRuns(raw).map((r) => r.cpu.foreign);
const syncAfter = await measureSyncLatency();
const info = {
  date: new Date().toISOString(),
  options,
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", node: process.version, kernel: os.release() },
  loadAverageStart,
  loadAverageEnd: os.loadavg(),
  foreignCores: { median: foreign.length === 0 ? 0 : median(foreign), max: foreign.length === 0 ? 0 : Math.max(...foreign) },
  syncLatency: [syncBefore, syncAfter],
  seconds: (performance.now() - started) / 1000,
};
let saved = { ...info, scenarios: outcomes, raw };
if (only !== undefined && process.argv.includes("--merge")) {
  const before = JSON.parse(readFileSync(join(repoRoot, "bench", "benchmarks.json"), "utf8")) as typeof saved;
  const scenariosMerged = [...before.scenarios.filter((o) => !only.has(o.id)), ...outcomes].sort((a, b) => parseInt(a.id, 10) - parseInt(b.id, 10));
  saved = { ...before, scenarios: scenariosMerged, raw: { ...before.raw, ...raw } };
}
const md = benchmarksMarkdown(saved, saved.scenarios);
writeFileSync(join(repoRoot, "BENCHMARKS.md"), md);
writeFileSync(join(repoRoot, "bench", "benchmarks.json"), `${JSON.stringify(saved, null, 2)}\n`);
log(`wrote BENCHMARKS.md and bench/benchmarks.json (${info.seconds.toFixed(0)} s)`);
process.stdout.write(md.split("\n\n").slice(0, 4).join("\n\n") + "\n");
process.exit(outcomes.some((o) => o.error !== undefined) ? 1 : 0);
