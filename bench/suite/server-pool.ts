/**
 * The servers the scenarios load, each in a process of its own, started on
 * first use and kept for the rest of the suite (so each is warmed up once):
 *
 *   bare-echo      grpc-js Delegate, one hop (bare-chain.ts)
 *   bare-chain     grpc-js gateway -> worker, two hops, no governance
 *   floor-chain    bare-chain plus the per-task work the design cannot skip: a
 *                  hop token signed and verified, one synced append (bare-chain.ts)
 *   mesh           the real gateway + worker-a (bench/tracing/mesh-process.ts),
 *                  every governance step on, tracing to the embedded span store
 *   mesh-untraced  the same with OTEL_TRACES_EXPORTER=none (spans made, none exported)
 */
import { startMeshProcess } from "../tracing/mesh-process.js";
import { startBareProcess } from "./bare-chain.js";

/** A server kind of the pool. */
export type ServerKind = "bare-echo" | "bare-chain" | "floor-chain" | "mesh" | "mesh-untraced";

/** A running server process. */
export interface Server {
  readonly kind: ServerKind;
  /** How the tables name it. */
  readonly label: string;
  readonly pid: number;
  readonly grpcAddress: string;
  /** Bearer token the load sends (checked by the mesh only). */
  readonly token: string;
  /** gRPC hops one delegation takes: load -> server (-> worker). */
  readonly hops: number;
  /** Whether the suite has run its warm-up load yet. */
  warmedUp: boolean;
}

/** Servers started on demand. */
export interface ServerPool {
  get(kind: ServerKind): Promise<Server>;
  stopAll(): Promise<void>;
}

/**
 * Tracing on and off, everything else alike: metrics stay on (their embedded
 * fact store) in both, so scenario 5 measures the span export alone. (With
 * OTEL_SDK_DISABLED=true, as bench/tracing uses, the metric facts would stop too.)
 * Spans are made in both: a result keeps its trace id.
 */
const tracingEnv = {
  on: { OTEL_SDK_DISABLED: "false", OTEL_TRACES_EXPORTER: "embedded", OTEL_TRACES_SAMPLER: "parentbased_always_on", OTEL_METRICS_EXPORTER: "embedded" },
  off: { OTEL_SDK_DISABLED: "false", OTEL_TRACES_EXPORTER: "none", OTEL_TRACES_SAMPLER: "parentbased_always_on", OTEL_METRICS_EXPORTER: "embedded" },
};

export const serverLabels: Readonly<Record<ServerKind, string>> = {
  "bare-echo": "bare grpc-js, 1 hop",
  "bare-chain": "bare grpc-js gateway → worker",
  "floor-chain": "bare gateway → worker + hop token signed and verified + one synced append",
  mesh: "agentmesh gateway → worker, tracing on",
  "mesh-untraced": "agentmesh gateway → worker, trace export off",
};

const bareKinds = { "bare-echo": "echo", "bare-chain": "chain", "floor-chain": "floor" } as const;

/** Creates an empty pool. */
export function createServerPool(): ServerPool {
  const running = new Map<ServerKind, { server: Server; stop: () => Promise<unknown> }>();
  const start = async (kind: ServerKind) => {
    const label = serverLabels[kind];
    if (kind === "bare-echo" || kind === "bare-chain" || kind === "floor-chain") {
      const p = await startBareProcess(bareKinds[kind]);
      return { server: { kind, label, pid: p.pid, grpcAddress: p.grpcAddress, token: "bench", hops: kind === "bare-echo" ? 1 : 2, warmedUp: false }, stop: () => p.stop() };
    }
    const p = await startMeshProcess(kind === "mesh" ? tracingEnv.on : tracingEnv.off);
    return { server: { kind, label, pid: p.pid, grpcAddress: p.grpcAddress, token: p.token, hops: 2, warmedUp: false }, stop: () => p.stop() };
  };
  return {
    async get(kind) {
      let entry = running.get(kind);
      if (entry === undefined) running.set(kind, (entry = await start(kind)));
      return entry.server;
    },
    async stopAll() {
      await Promise.all([...running.values()].map((e) => e.stop()));
      running.clear();
    },
  };
}
