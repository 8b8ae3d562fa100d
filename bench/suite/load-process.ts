/**
 * A load generator in a process of its own (delegation-load.ts's loop): the
 * parent sends `{ run: DelegationLoadOptions }`, the child answers
 * `{ ok, value | error }`; "stop" ends it. Several of these drive a scenario so
 * that no single Node event loop (a grpc-js client tops out near 5k calls/s)
 * bounds the figure, and each one's CPU is measured on its own.
 */
import { runDelegationLoad } from "../tracing/delegation-load.js";
import type { DelegationLoadOptions, DelegationLoadResult } from "../tracing/delegation-load.js";
import { ask, forkReady } from "./child-process.js";
import type { ReadyChild } from "./child-process.js";
import { percentile } from "../policy/latency-sample.js";

/** The load of one measurement, split evenly over the load processes. */
export interface LoadSpec {
  readonly grpcAddress: string;
  readonly token: string;
  /** Calls in flight in all. */
  readonly inFlight: number;
  /** grpc-js channels in all (at least one per process). */
  readonly channels: number;
  readonly seconds: number;
  readonly taskIdPrefix: string;
}

/** The merged result of the load processes. Latencies in ms. */
export interface LoadResult {
  readonly calls: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Load processes ready to run. */
export interface LoadGenerators {
  /** Pids by name (`load1`, `load2`, ...), for CPU accounting. */
  readonly pids: Readonly<Record<string, number>>;
  run(spec: LoadSpec): Promise<LoadResult>;
  stop(): Promise<void>;
}

/** Starts `count` load processes. */
export async function startLoadGenerators(count: number): Promise<LoadGenerators> {
  const children: ReadyChild<unknown>[] = await Promise.all(Array.from({ length: count }, () => forkReady(import.meta.url, { args: ["--child"] })));
  return {
    pids: Object.fromEntries(children.map((c, i) => [`load${i + 1}`, c.pid])),
    async run(spec) {
      // Fewer calls in flight than processes (the low-load run): only the first ones run.
      const active = children.slice(0, Math.min(children.length, spec.inFlight));
      const results = await Promise.all(active.map((c, i) => {
        const share = (total: number) => Math.floor(total / active.length) + (i < total % active.length ? 1 : 0);
        const options: DelegationLoadOptions = {
          grpcAddress: spec.grpcAddress, token: spec.token, seconds: spec.seconds,
          inFlight: share(spec.inFlight), channels: Math.max(1, share(spec.channels)), taskIdPrefix: `${spec.taskIdPrefix}-p${i + 1}`,
        };
        return ask<DelegationLoadResult>(c.child, { run: options });
      }));
      const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
      const calls = latencies.length;
      return {
        calls,
        perSecond: results.reduce((sum, r) => sum + r.perSecond, 0),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies[calls - 1] ?? Number.NaN,
      };
    },
    async stop() {
      await Promise.all(children.map((c) => c.stop(5_000)));
    },
  };
}

/** Child: runs each load it is sent, one at a time. */
function runChild(): void {
  process.on("message", (msg) => {
    if (msg === "stop") process.exit(0);
    const { run } = msg as { run: DelegationLoadOptions };
    runDelegationLoad(run).then(
      (value) => process.send?.({ ok: true, value }),
      (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
  });
  process.on("disconnect", () => process.exit(0));
  process.send?.("ready");
}

if (process.argv.includes("--child")) runChild();
