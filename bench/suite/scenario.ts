/**
 * What a scenario of the benchmark suite is (bench/run.ts). A scenario is one
 * file in bench/suite/scenarios/ named `<number>-<name>.ts` whose default export
 * is a `Scenario`; the suite finds it there, so adding a scenario touches no
 * other file. It measures its baseline in the same run as its subject
 * (alternating, `alternate` in compare.ts) and reports table rows.
 */
import type { CpuWindow } from "./proc-cpu.js";
import type { LoadGenerators } from "./load-process.js";
import type { ServerKind, ServerPool } from "./server-pool.js";

/** How long and how often the suite measures. */
export interface SuiteOptions {
  readonly quick: boolean;
  /** Rounds per scenario; the variant order is reversed every other round. */
  readonly rounds: number;
  /** Seconds per measured load run. */
  readonly seconds: number;
  /** Seconds of load before a server's first measurement. */
  readonly warmupSeconds: number;
  /** Calls in flight under high load, and grpc-js channels they are spread over. */
  readonly inFlight: number;
  readonly channels: number;
}

/** What a scenario runs with. */
export interface SuiteContext {
  readonly options: SuiteOptions;
  readonly servers: ServerPool;
  readonly load: LoadGenerators;
  /** A progress line on stderr. */
  log(line: string): void;
}

/** One figure with its spread over rounds. */
export interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}

/** One row of BENCHMARKS.md. */
export interface Row {
  /** What is measured, e.g. "throughput (32 in flight)". */
  readonly metric: string;
  /** The baseline's label and figure; undefined for a reference with none. */
  readonly baseline?: { readonly label: string; readonly figure: Figure };
  readonly figure: { readonly label: string; readonly figure: Figure };
  /** Subject over baseline (or the difference, for latencies added), as the target reads it. */
  readonly ratio?: { readonly text: string; readonly value: number };
  /** The target in words, e.g. "≥ 0.80"; "—" for none. */
  readonly target: string;
  /** Whether the target was met; undefined when there is none. */
  readonly met?: boolean;
  /** What bounded the figure: the saturated process, or the machine. */
  readonly saturated: string;
}

/** A scenario's report: its rows and the raw measurements for the JSON file. */
export interface ScenarioReport {
  readonly rows: readonly Row[];
  readonly raw: unknown;
}

/** A scenario of the suite. */
export interface Scenario {
  /** The number in the list, e.g. "3". */
  readonly id: string;
  readonly title: string;
  /** Servers it measures, started by the pool before it runs. */
  readonly servers: readonly ServerKind[];
  run(ctx: SuiteContext): Promise<ScenarioReport>;
}

/** One measured load run with its CPU accounting. */
export interface LoadRun {
  readonly round: number;
  readonly perSecond: number;
  readonly calls: number;
  /** Latencies, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly cpu: CpuWindow;
  /** CPU seconds of the server process per 1000 calls per hop (core-seconds). */
  readonly serverCpuPer1000PerHop: number;
}
