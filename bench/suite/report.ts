/**
 * BENCHMARKS.md from a suite run: the machine and how loaded it was, the table
 * of every scenario's rows, then the hand-written findings
 * (bench/suite/findings.md) and the latest CPU profile summaries
 * (bench/profile/mesh-delegation.md under load, mesh-delegation-1-in-flight.md
 * at one call in flight), copied in verbatim so that a new run
 * keeps them.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../tools/index.js";
import type { SyncLatency } from "./disk-sync.js";
import type { Figure, Row, SuiteOptions } from "./scenario.js";

/** One scenario's outcome in a run. */
export interface ScenarioOutcome {
  readonly id: string;
  readonly title: string;
  readonly rows: readonly Row[];
  readonly seconds: number;
  readonly error?: string;
  /** When it finished, and the cores other processes used during its load runs. */
  readonly measuredAt?: string;
  readonly foreignCores?: { readonly median: number; readonly max: number };
}

/** What the run was measured on, and how disturbed. */
export interface RunInfo {
  readonly date: string;
  readonly options: SuiteOptions;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string; readonly kernel: string };
  readonly loadAverageStart: readonly number[];
  readonly loadAverageEnd: readonly number[];
  /** Cores other processes used during the load runs: median and max. */
  readonly foreignCores: { readonly median: number; readonly max: number };
  /** Durable-append latency at the start and at the end of the run. */
  readonly syncLatency: readonly SyncLatency[];
  readonly seconds: number;
}

const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));
const fig = (f: Figure) => `${num(f.median)} ${f.unit}`;
const spread = (f: Figure) => `${num(f.min)}–${num(f.max)}`;

/** The markdown of BENCHMARKS.md. */
export function benchmarksMarkdown(info: RunInfo, outcomes: readonly ScenarioOutcome[]): string {
  const o = info.options;
  const la = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(" / ");
  const lines = [
    "# Benchmarks",
    "",
    `Written by \`npm run bench${o.quick ? " -- --quick" : ""}\` on ${info.date} in ${info.seconds.toFixed(0)} s. ` +
      `${info.machine.cpus} vCPU ${info.machine.cpuModel}, Node ${info.machine.node}, Linux ${info.machine.kernel}.`,
    "",
    `**Machine load** (a shared machine: read the figures with it): load average (1/5/15 min) ${la(info.loadAverageStart)} at the start, ` +
      `${la(info.loadAverageEnd)} at the end; during the load runs other processes used ${info.foreignCores.median.toFixed(2)} cores ` +
      `(median), up to ${info.foreignCores.max.toFixed(2)}, of ${info.machine.cpus}. ` +
      `Append + fdatasync in ${info.syncLatency[0]?.dir ?? "?"} (where the mesh's journals were): ` +
      info.syncLatency.map((s) => `p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`).join(" at the start; ") + " at the end.",
    "",
    `**Method.** Every scenario measures its baseline in the same run: ${o.rounds} rounds, the order of baseline and subject reversed every ` +
      `other round, each server warmed up for ${o.warmupSeconds} s first; figures are medians over rounds, the spread is min–max over rounds. ` +
      `Load: \`Delegate\` with a unique task id per call, ${o.inFlight} calls in flight over ${o.channels} grpc-js channels split over ` +
      `two load processes ("1 in flight" for latency at low load), ${o.seconds} s per run; every response is checked. Each server runs in ` +
      "a process of its own; the CPU of the server, of each load process and of everything else is read from /proc around each run, which " +
      "gives what saturated and the server's CPU per 1000 calls per hop (a delegation through gateway and worker is two hops).",
    "",
    "| scenario | metric | baseline | figure | ratio | target | met? | spread (baseline; figure) | saturated |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const s of outcomes) {
    if (s.error !== undefined) {
      lines.push(`| ${s.id}. ${s.title} | failed: ${s.error.split("\n")[0]} | | | | | | | |`);
      continue;
    }
    for (const r of s.rows) {
      const base = r.baseline === undefined ? "—" : `${r.baseline.label}: ${fig(r.baseline.figure)}`;
      const met = r.met === undefined ? "—" : r.met ? "yes" : "**no**";
      const sp = `${r.baseline === undefined ? "—" : spread(r.baseline.figure)}; ${spread(r.figure.figure)}`;
      lines.push(`| ${s.id}. ${s.title} | ${r.metric} | ${base} | ${r.figure.label}: ${fig(r.figure.figure)} | ${r.ratio?.text ?? "—"} | ${r.target} | ${met} | ${sp} | ${r.saturated} |`);
    }
  }
  lines.push("");
  const remeasured = outcomes.filter((s) => s.measuredAt !== undefined && s.measuredAt > info.date);
  for (const s of remeasured) {
    lines.push(`Scenario ${s.id} was measured again on its own (\`--only ${s.id} --merge\`), finishing ${s.measuredAt}; ` +
      `other processes used ${s.foreignCores?.median.toFixed(2) ?? "?"} cores (median), up to ${s.foreignCores?.max.toFixed(2) ?? "?"}, during its runs.`);
  }
  if (remeasured.length > 0) lines.push("");
  const profiles = [
    ["bench/suite/findings.md", ""],
    ["bench/profile/mesh-delegation.md", "(no profile yet: `npm run bench:profile`)"],
    ["bench/profile/mesh-delegation-1-in-flight.md", "(no profile at one call in flight yet: `npm run bench:profile -- --in-flight 1`)"],
  ] as const;
  for (const [file, fallback] of profiles) {
    const path = join(repoRoot, file);
    const text = existsSync(path) ? readFileSync(path, "utf8").replace(/^# /, "## ").replace(/\n## /g, "\n### ") : fallback;
    if (text !== "") lines.push(text.trimEnd(), "");
  }
  return lines.join("\n");
}
