/**
 * A local Jaeger v2 (the all-in-one `jaeger` binary, pinned in tools/jaeger and
 * built by scripts/install-tool.sh): an OpenTelemetry Collector distribution whose
 * config names an OTLP receiver, in-memory trace storage and the query
 * extension (HTTP API, `/api/traces/...`, and the UI, a placeholder when the
 * binary is built from source). `agentmesh up --jaeger` and the tests start it
 * on loopback with a config written here; everything listens on 127.0.0.1 only.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** The loopback ports of a local Jaeger. */
export interface JaegerPorts {
  /** OTLP/gRPC receiver (the mesh's exporters send here). */
  readonly otlpGrpc: number;
  /** OTLP/HTTP receiver. */
  readonly otlpHttp: number;
  /** Query service: HTTP API and UI. */
  readonly queryHttp: number;
  /** Query service: gRPC API. */
  readonly queryGrpc: number;
  /** healthcheckv2 extension (`/status`). */
  readonly health: number;
}

/** Jaeger's own defaults, which `agentmesh up --jaeger` uses. */
export const defaultJaegerPorts: JaegerPorts = { otlpGrpc: 4317, otlpHttp: 4318, queryHttp: 16686, queryGrpc: 16685, health: 13133 };

/**
 * The config of a local all-in-one Jaeger: OTLP in (gRPC and HTTP), a short
 * batch, memory storage, the query extension and a health check, all on
 * 127.0.0.1. Jaeger's own metrics are off (by default they would take :8888), and
 * so are its own traces (they would show up as a service "jaeger").
 */
export function jaegerConfigYaml(p: JaegerPorts, maxTraces = 100_000): string {
  return `# Written by agentmesh (cli/jaeger.ts): Jaeger v2 all-in-one on loopback, memory storage.
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
    traces:
      level: none

extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${p.health}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${p.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${p.queryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${maxTraces}

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${p.otlpGrpc}
      http:
        endpoint: 127.0.0.1:${p.otlpHttp}

processors:
  batch:
    timeout: 200ms

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/** Options of {@link startJaeger}. */
export interface StartJaegerOptions {
  /** The `jaeger` binary (`toolPath("jaeger")`). */
  readonly binary: string;
  /** Folder for the config file (created if missing). */
  readonly dir: string;
  readonly ports: JaegerPorts;
  /** Each line Jaeger logs; default: dropped. */
  readonly print?: (line: string) => void;
  /** How long to wait for it to be ready; default 30 s. */
  readonly readyTimeoutMs?: number;
}

/** A running Jaeger. */
export interface RunningJaeger {
  readonly process: ChildProcess;
  readonly ports: JaegerPorts;
  /** Base URL of the query HTTP API, e.g. http://127.0.0.1:16686. */
  readonly queryUrl: string;
  /** OTLP/gRPC endpoint for OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:4317. */
  readonly otlpEndpoint: string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts Jaeger with a config for `ports`, and resolves once its health check and query API answer. */
export async function startJaeger(o: StartJaegerOptions): Promise<RunningJaeger> {
  mkdirSync(o.dir, { recursive: true });
  const config = join(o.dir, "jaeger.yaml");
  writeFileSync(config, jaegerConfigYaml(o.ports));
  // Its own process group: Ctrl-C in a terminal signals the whole foreground group,
  // and Jaeger must outlive the services, which export their last spans as they
  // stop; `stop()` ends it after them. Should this process exit first, it takes
  // Jaeger along (a SIGKILL of this process would leave it running).
  // Jaeger's own OpenTelemetry stays off, so it does not send its spans into itself.
  const child = spawn(o.binary, ["--config", config], { stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" } });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.removeListener("exit", killOnExit));
  let log = "";
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      if (log.length < 20_000) log += line + "\n";
      o.print?.(line);
    });
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  const queryUrl = `http://127.0.0.1:${o.ports.queryHttp}`;
  const stop = async (graceMs = 5_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  for (;;) {
    const failed = await Promise.race([spawnError, sleep(0).then(() => undefined)]);
    if (failed !== undefined) throw new Error(`could not start ${o.binary}: ${failed.message}`);
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`jaeger exited during start-up (${child.signalCode ?? `code ${child.exitCode}`}):\n${log}`);
    if ((await answers(`http://127.0.0.1:${o.ports.health}/status`)) && (await answers(`${queryUrl}/api/services`))) break;
    if (Date.now() > deadline) {
      await stop(1_000);
      throw new Error(`jaeger did not become ready on 127.0.0.1:${o.ports.queryHttp}:\n${log}`);
    }
    await sleep(100);
  }
  return { process: child, ports: o.ports, queryUrl, otlpEndpoint: `http://127.0.0.1:${o.ports.otlpGrpc}`, stop };
}

/**
 * The environment that points a mesh process's spans at this Jaeger
 * (mesh/telemetry/telemetry-config.ts), exported every second rather than every
 * 5 s, so a finished task is soon in Jaeger; an OTEL_BSP_SCHEDULE_DELAY already
 * set wins.
 */
export function otlpEnvFor(jaeger: Pick<RunningJaeger, "otlpEndpoint">, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  // Spans go to Jaeger and to the local store too (so a plain `agentmesh trace` still
  // works); metrics stay local, since Jaeger takes no metrics.
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_TRACES_EXPORTER: "otlp,embedded", OTEL_METRICS_EXPORTER: "embedded",
    OTEL_BSP_SCHEDULE_DELAY: env.OTEL_BSP_SCHEDULE_DELAY ?? "1000",
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
