/**
 * `startTelemetry`: the OpenTelemetry SDK of one mesh service (an agent or the
 * gateway), configured by the standard `OTEL_*` variables (telemetry-config.ts).
 *
 * One tracer provider per service, passed down, never registered globally. The
 * Node SDK's `NodeSDK` registers one provider, one resource and one propagator
 * for the whole process; that is right for a service alone in its process and
 * wrong for the in-process mesh of the tests and the demo's `agentmesh up`
 * variants, where the gateway and several agents share one process and each
 * must export under its own `service.name`. So each service builds its own
 * provider from the same SDK parts (`BasicTracerProvider`, batch processor,
 * OTLP/gRPC exporter) and hands its tracer to its governance chain, executor
 * and clients; propagation uses a fixed W3C propagator (propagation.ts), and
 * parents are passed explicitly in call context values, so nothing depends on
 * a global context manager either.
 */
import { join } from "node:path";
import type { SpanContext, Tracer } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, ParentBasedSampler,
  SimpleSpanProcessor, TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import type { Sampler, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { IMetricReader } from "@opentelemetry/sdk-metrics";
import type { Logger } from "../logger.js";
import { startMetrics } from "./metrics.js";
import type { DelegationMetrics } from "./metrics.js";
import { createSpanFileExporter, spanFileName } from "./span-file-exporter.js";
import type { SamplerName, TelemetryConfig } from "./telemetry-config.js";

/** Options of `startTelemetry`. */
export interface TelemetryOptions {
  /** The service's own name (agent name, or "gateway"): `agentmesh.agent`, and `service.name` unless OTEL_SERVICE_NAME says otherwise. */
  readonly service: string;
  readonly version: string;
  /** `service.instance.id`. */
  readonly instanceId: string;
  /** Where the embedded span store lives (`<dataDir>/<service>.spans.jsonl`). */
  readonly dataDir: string;
  readonly config: TelemetryConfig;
  /** Told when the last spans could not be exported at shutdown (a collector that is down). */
  readonly logger: Logger;
  /**
   * Replaces the configured exporters: every span goes to it as it ends (tests
   * inject an in-memory exporter). Its `shutdown` is called when the service stops.
   */
  readonly exporter?: SpanExporter;
  /** Replaces the configured metric readers (tests inject an in-memory one); the embedded fact store is kept as configured. */
  readonly metricReader?: IMetricReader;
}

/** Remembers the task span of recent task ids, so that a retry of a task can link to it. */
export interface TaskSpanIndex {
  remember(taskId: string, span: SpanContext): void;
  get(taskId: string): SpanContext | undefined;
}

/** The telemetry of one service. */
export interface Telemetry {
  readonly tracer: Tracer;
  readonly tasks: TaskSpanIndex;
  /** The service's delegation metrics (metrics.ts), from its own meter provider. */
  readonly metrics: DelegationMetrics;
  /** Exports every span ended so far. */
  forceFlush(): Promise<void>;
  /**
   * Flushes and stops exporting; called when the service stops (SIGTERM included).
   * Never rejects: spans that cannot be exported (the collector is down) are
   * logged as lost, and the service stops anyway.
   */
  shutdown(): Promise<void>;
}

/** Task ids whose span a service remembers. */
const maxRememberedTasks = 10_000;

/** Default export interval of the embedded store: short, so `agentmesh trace` soon sees a finished task. */
const embeddedDelayMs = 1_000;

/** Starts the telemetry of one service; see the file comment for why it is not global. */
export async function startTelemetry(o: TelemetryOptions): Promise<Telemetry> {
  const { config } = o;
  const serviceName = config.serviceName ?? config.resourceAttributes["service.name"] ?? o.service;
  const resource = resourceFromAttributes({
    "service.version": o.version,
    "service.instance.id": o.instanceId,
    ...config.resourceAttributes,
    "service.name": serviceName,
    "agentmesh.agent": o.service,
  });
  const provider = new BasicTracerProvider({
    resource,
    sampler: samplerOf(config.sampler, config.samplerRatio),
    spanProcessors: o.exporter === undefined ? await processorsOf(o) : [new SimpleSpanProcessor(o.exporter)],
  });
  const metrics = await startMetrics({
    service: o.service, version: o.version, resource, dataDir: o.dataDir, config: config.metrics, logger: o.logger,
    ...(o.metricReader === undefined ? {} : { reader: o.metricReader }),
  });
  const remembered = new Map<string, SpanContext>();
  return {
    metrics,
    tracer: provider.getTracer("agentmesh", o.version),
    tasks: {
      remember(taskId, span) {
        remembered.delete(taskId);
        remembered.set(taskId, span);
        if (remembered.size > maxRememberedTasks) remembered.delete(remembered.keys().next().value!);
      },
      get: (taskId) => remembered.get(taskId),
    },
    forceFlush: async () => {
      await Promise.all([provider.forceFlush(), metrics.forceFlush()]);
    },
    shutdown: async () => {
      await Promise.all([
        provider.shutdown().catch((err: unknown) => {
          o.logger.warn("could not export the last spans; they are lost", { error: err instanceof Error ? err.message : String(err) });
        }),
        metrics.shutdown(),
      ]);
    },
  };
}

async function processorsOf(o: TelemetryOptions): Promise<SpanProcessor[]> {
  const { config } = o;
  const batch = (exporter: SpanExporter, delay: number | undefined) =>
    new BatchSpanProcessor(exporter, delay === undefined ? {} : { scheduledDelayMillis: delay });
  const out: SpanProcessor[] = [];
  for (const kind of config.exporters) {
    if (kind === "embedded") {
      out.push(batch(createSpanFileExporter(join(o.dataDir, spanFileName(o.service))), config.scheduleDelayMs ?? embeddedDelayMs));
    } else if (kind === "otlp") {
      // Loaded only when used: it brings its own gRPC stack.
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-grpc");
      out.push(batch(new OTLPTraceExporter(config.otlpEndpoint === undefined ? {} : { url: config.otlpEndpoint }), config.scheduleDelayMs));
    } else {
      out.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
    }
  }
  return out;
}

/** The sampler OTEL_TRACES_SAMPLER names; `parentbased_*` follow the caller's sampled flag. */
function samplerOf(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
