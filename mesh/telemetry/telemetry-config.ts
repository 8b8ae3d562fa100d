/**
 * The OpenTelemetry settings of a mesh process, read from the standard `OTEL_*`
 * variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/)
 * in this one place; `readMeshConfig` calls it.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | OTEL_SDK_DISABLED | false | true: spans are still made (results keep their trace id) but nothing is exported |
 * | OTEL_SERVICE_NAME | the agent's name ("gateway" for the gateway) | `service.name` of the spans |
 * | OTEL_RESOURCE_ATTRIBUTES | unset | extra resource attributes, `k=v,k2=v2` (percent-encoded values) |
 * | OTEL_TRACES_EXPORTER | `otlp` when an OTLP endpoint is set, else `embedded` | comma list of `otlp`, `console`, `embedded` (spans appended to `<dataDir>/<service>.spans.jsonl` for `agentmesh trace`), `none` |
 * | OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT | unset | the collector's OTLP/gRPC endpoint, e.g. http://otel-collector:4317; the exporter reads its other OTEL_EXPORTER_OTLP_* variables (headers, timeout, compression) itself |
 * | OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG | parentbased_always_on | always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio |
 * | OTEL_BSP_SCHEDULE_DELAY | 5000 (otlp), 1000 (embedded) | batch export interval, ms; the batch processor reads its other OTEL_BSP_* variables itself |
 * | OTEL_METRICS_EXPORTER | `otlp,embedded` when an OTLP endpoint is set, else `embedded` | comma list of `otlp`, `console`, `embedded` (per-task facts appended to `<dataDir>/<service>.metrics.jsonl` for `agentmesh report`), `none` (mesh/telemetry/metrics.ts) |
 * | OTEL_EXPORTER_OTLP_METRICS_ENDPOINT | OTEL_EXPORTER_OTLP_ENDPOINT | the collector's OTLP/gRPC endpoint for metrics |
 * | OTEL_METRIC_EXPORT_INTERVAL | 60000 | periodic metric export interval, ms |
 * | POD_NAME, POD_NAMESPACE | unset | `k8s.pod.name`, `k8s.namespace.name` (set them from the downward API) |
 */

/** Where spans go. */
export type TraceExporterKind = "otlp" | "console" | "embedded";

/** Where metrics go: an OTLP/gRPC periodic reader, the console, or the embedded fact store. */
export type MetricsExporterKind = "otlp" | "console" | "embedded";

/** The metric settings (OTEL_METRICS_EXPORTER and friends). */
export interface MetricsConfig {
  /** Exporters in use; empty when disabled or `none`. */
  readonly exporters: readonly MetricsExporterKind[];
  /** OTLP/gRPC endpoint of metrics; undefined: the exporter's default. */
  readonly otlpEndpoint: string | undefined;
  /** Export interval of the periodic reader, ms; undefined: 60000. */
  readonly exportIntervalMs: number | undefined;
}

/** The sampler named by OTEL_TRACES_SAMPLER. */
export type SamplerName = "always_on" | "always_off" | "traceidratio" | "parentbased_always_on" | "parentbased_always_off" | "parentbased_traceidratio";

/** Fully populated telemetry settings. */
export interface TelemetryConfig {
  /** OTEL_SERVICE_NAME; undefined: the service's own name. */
  readonly serviceName: string | undefined;
  /** Exporters in use; empty when disabled or `none`. */
  readonly exporters: readonly TraceExporterKind[];
  /** OTLP/gRPC endpoint; undefined: the exporter's default (http://localhost:4317). */
  readonly otlpEndpoint: string | undefined;
  readonly sampler: SamplerName;
  /** Ratio of `traceidratio` samplers, 0..1. */
  readonly samplerRatio: number;
  /** Batch export interval in ms. */
  readonly scheduleDelayMs: number | undefined;
  /** Resource attributes from OTEL_RESOURCE_ATTRIBUTES, POD_NAME and POD_NAMESPACE. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** The metric settings. */
  readonly metrics: MetricsConfig;
}

type Env = Readonly<Record<string, string | undefined>>;

const samplers: readonly SamplerName[] = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];
const exporterKinds: readonly string[] = ["otlp", "console", "embedded", "none"];

/** Reads the telemetry settings; throws naming the variable when a value is malformed. */
export function readTelemetryConfig(env: Env): TelemetryConfig {
  const set = (name: string) => (env[name] === undefined || env[name].trim() === "" ? undefined : env[name].trim());
  const disabled = set("OTEL_SDK_DISABLED")?.toLowerCase() === "true";
  const otlpEndpoint = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ?? set("OTEL_EXPORTER_OTLP_ENDPOINT");
  const listed = (set("OTEL_TRACES_EXPORTER") ?? (otlpEndpoint === undefined ? "embedded" : "otlp")).split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  for (const kind of listed) {
    if (!exporterKinds.includes(kind)) throw new Error(`OTEL_TRACES_EXPORTER must list otlp, console, embedded or none, not "${kind}"`);
  }
  const exporters = disabled || listed.includes("none") ? [] : [...new Set(listed as TraceExporterKind[])];
  const sampler = (set("OTEL_TRACES_SAMPLER")?.toLowerCase() ?? "parentbased_always_on") as SamplerName;
  if (!samplers.includes(sampler)) throw new Error(`OTEL_TRACES_SAMPLER must be one of ${samplers.join(", ")}, not "${sampler}"`);
  const ratioText = set("OTEL_TRACES_SAMPLER_ARG");
  const samplerRatio = ratioText === undefined ? 1 : Number(ratioText);
  if (!(samplerRatio >= 0 && samplerRatio <= 1)) throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, not "${ratioText}"`);
  const delayText = set("OTEL_BSP_SCHEDULE_DELAY");
  const scheduleDelayMs = delayText === undefined ? undefined : Number(delayText);
  if (scheduleDelayMs !== undefined && !(Number.isInteger(scheduleDelayMs) && scheduleDelayMs > 0)) throw new Error(`OTEL_BSP_SCHEDULE_DELAY must be a positive integer, not "${delayText}"`);
  const resourceAttributes: Record<string, string> = parseResourceAttributes(set("OTEL_RESOURCE_ATTRIBUTES") ?? "");
  const pod = set("POD_NAME");
  const namespace = set("POD_NAMESPACE");
  if (pod !== undefined) resourceAttributes["k8s.pod.name"] = pod;
  if (namespace !== undefined) resourceAttributes["k8s.namespace.name"] = namespace;
  return { serviceName: set("OTEL_SERVICE_NAME"), exporters, otlpEndpoint, sampler, samplerRatio, scheduleDelayMs, resourceAttributes, metrics: readMetricsConfig(set, disabled) };
}

/** OTEL_METRICS_EXPORTER, its endpoint and interval; throws naming the variable when a value is malformed. */
function readMetricsConfig(set: (name: string) => string | undefined, disabled: boolean): MetricsConfig {
  const otlpEndpoint = set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") ?? set("OTEL_EXPORTER_OTLP_ENDPOINT");
  const listed = (set("OTEL_METRICS_EXPORTER") ?? (otlpEndpoint === undefined ? "embedded" : "otlp,embedded")).split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  for (const kind of listed) {
    if (!exporterKinds.includes(kind)) throw new Error(`OTEL_METRICS_EXPORTER must list otlp, console, embedded or none, not "${kind}"`);
  }
  const intervalText = set("OTEL_METRIC_EXPORT_INTERVAL");
  const exportIntervalMs = intervalText === undefined ? undefined : Number(intervalText);
  if (exportIntervalMs !== undefined && !(Number.isInteger(exportIntervalMs) && exportIntervalMs > 0)) throw new Error(`OTEL_METRIC_EXPORT_INTERVAL must be a positive integer, not "${intervalText}"`);
  const exporters = disabled || listed.includes("none") ? [] : [...new Set(listed as MetricsExporterKind[])];
  return { exporters, otlpEndpoint, exportIntervalMs };
}

/** Parses `k=v,k2=v2` (W3C baggage-like, values percent-encoded); throws on an entry without `=`. */
export function parseResourceAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of text.split(",")) {
    if (entry.trim() === "") continue;
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new Error(`OTEL_RESOURCE_ATTRIBUTES entries must be key=value, not "${entry.trim()}"`);
    out[entry.slice(0, eq).trim()] = decodeURIComponent(entry.slice(eq + 1).trim());
  }
  return out;
}
