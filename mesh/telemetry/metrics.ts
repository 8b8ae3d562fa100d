/**
 * The delegation metrics of one service (DESIGN.md, "Measuring delegation"):
 * task SLA hit rate, escalation rate and cost per successful task, per intent
 * and agent, as OpenTelemetry metrics beside the traces.
 *
 * One `MeterProvider` per service, never registered globally, for the reason
 * start-telemetry.ts gives for the tracer provider. Every event is recorded
 * where it happens (the task span's end, the policy step's refusal, the
 * approval gate) as one `MetricFact`, which
 * - feeds the OTel instruments below (exported by an OTLP/gRPC periodic reader,
 *   the console, or a reader a test injects), and
 * - is appended to the embedded fact store `<dataDir>/<service>.metrics.jsonl`,
 *   which `agentmesh report` reads: facts, not pre-aggregated snapshots, so a
 *   report over any time window is exact. Written within `factGatherMs` and
 *   synced within `telemetrySyncEveryMs` (span-file-exporter.ts).
 *
 * Instruments (attributes in the `agentmesh.*` namespace):
 * | name | kind | unit | attributes |
 * |---|---|---|---|
 * | agentmesh.tasks | counter | {task} | intent, agent, state |
 * | agentmesh.task.duration | histogram | s | intent, agent, state, slo_met (only when the task had an SLO) |
 * | agentmesh.task.slo | counter | {task} | intent, agent, slo ("met" / "missed") |
 * | agentmesh.escalations | counter | {escalation} | intent, agent, escalation.kind ("approval_requested" / "refused"), escalation.reason |
 * | agentmesh.task.cost.money_micros | counter | {micro} | intent, agent (COMPLETED tasks only) |
 * | agentmesh.task.cost.tokens | counter | {token} | intent, agent, token.type ("input" / "output") (COMPLETED tasks only) |
 *
 * Each service counts what it saw: a task forwarded by the gateway is counted
 * by the gateway (service.name gateway) and by the agent that ran it. The report
 * joins the facts by task id and counts each task once.
 */
import { join } from "node:path";
import type { Attributes, Counter, Histogram } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import type { IMetricReader } from "@opentelemetry/sdk-metrics";
import { openJsonlLog } from "../storage/jsonl-log.js";
import { telemetrySyncEveryMs } from "./span-file-exporter.js";
import type { JsonlLog } from "../storage/jsonl-log.js";
import type { Logger } from "../logger.js";
import type { MetricsConfig } from "./telemetry-config.js";

/** The final outcome of one execution of a task (or of a task that ended without running). */
export interface TaskFact {
  readonly kind: "task";
  /** When it ended, epoch ms. */
  readonly t: number;
  /** The service that recorded it. */
  readonly service: string;
  readonly taskId: string;
  readonly intent: string;
  /** The agent that answered for the task (the result's agent; the service itself when it ended there). */
  readonly agent: string;
  /** Lowercase state name: completed, failed, rejected, canceled, dead_lettered. */
  readonly state: string;
  /** The error reason when it did not complete. */
  readonly reason?: string;
  /** Wall time of the execution, ms; absent when the task never ran (refused, approval denied). */
  readonly durationMs?: number;
  /** The task's `slo.target_duration`, ms; absent when it had none. */
  readonly sloMs?: number;
  readonly moneyMicros: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** A task sent to a human or refused. */
export interface EscalationFact {
  readonly kind: "escalation";
  readonly t: number;
  readonly service: string;
  readonly taskId: string;
  readonly intent: string;
  /** The service that escalated. */
  readonly agent: string;
  readonly escalation: "approval_requested" | "refused";
  /** The policy's reason code (approval_required, tool_not_allowed, ...). */
  readonly reason: string;
}

/** One line of a metrics store. */
export type MetricFact = TaskFact | EscalationFact;

/** What a recording site passes; the service and time are filled in. */
export type TaskOutcome = Omit<TaskFact, "kind" | "t" | "service">;
export type Escalation = Omit<EscalationFact, "kind" | "t" | "service">;

/** The delegation metrics of one service. */
export interface DelegationMetrics {
  /** Records the final outcome of a task. */
  task(outcome: TaskOutcome): void;
  /** Records an approval request or a refusal. */
  escalation(e: Escalation): void;
  /** Exports what was recorded so far and waits for the fact store's writes. */
  forceFlush(): Promise<void>;
  /** Flushes and stops; never rejects. */
  shutdown(): Promise<void>;
}

/** The file name of a service's metrics store in its data directory. */
export function metricsFileName(service: string): string {
  return `${service}.metrics.jsonl`;
}

/** Options of `startMetrics`. */
export interface MetricsOptions {
  readonly service: string;
  readonly version: string;
  readonly resource: Resource;
  readonly dataDir: string;
  readonly config: MetricsConfig;
  readonly logger: Logger;
  /** Replaces the configured OTel readers (tests inject an in-memory one); the fact store is kept as configured. */
  readonly reader?: IMetricReader;
  /** The clock, epoch ms; default `Date.now`. */
  readonly now?: () => number;
}

/** Facts made this close together go out in one write to the fact store. */
const factGatherMs = 10;

/** Bucket bounds of `agentmesh.task.duration`, seconds. */
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** Starts the metrics of one service; see the file comment. */
export async function startMetrics(o: MetricsOptions): Promise<DelegationMetrics> {
  const now = o.now ?? Date.now;
  const readers = o.reader === undefined ? await readersOf(o.config) : [o.reader];
  const provider = new MeterProvider({ resource: o.resource, readers });
  const instruments = createInstruments(provider, o.version);
  const store: JsonlLog<MetricFact> | undefined = o.config.exporters.includes("embedded") ? openJsonlLog<MetricFact>(join(o.dataDir, metricsFileName(o.service)), { syncEveryMs: telemetrySyncEveryMs, gatherMs: factGatherMs }) : undefined;
  const writes = new Set<Promise<void>>();
  const keep = (fact: MetricFact) => {
    recordFact(instruments, fact);
    if (store === undefined) return;
    const write = store.append(fact).catch((err: unknown) => {
      o.logger.warn("could not record a metric fact; agentmesh report will miss it", { task_id: fact.taskId, error: err instanceof Error ? err.message : String(err) });
    });
    writes.add(write);
    void write.finally(() => writes.delete(write));
  };
  let stopped: Promise<void> | undefined;
  return {
    task: (outcome) => keep({ kind: "task", t: now(), service: o.service, ...outcome }),
    escalation: (e) => keep({ kind: "escalation", t: now(), service: o.service, ...e }),
    async forceFlush() {
      await Promise.all([...writes]);
      await provider.forceFlush().catch(() => undefined);
    },
    shutdown() {
      stopped ??= (async () => {
        await Promise.all([...writes]);
        await provider.shutdown().catch((err: unknown) => {
          o.logger.warn("could not export the last metrics; they are lost", { error: err instanceof Error ? err.message : String(err) });
        });
        await store?.close();
      })();
      return stopped;
    },
  };
}

async function readersOf(config: MetricsConfig): Promise<IMetricReader[]> {
  const interval = config.exportIntervalMs === undefined ? {} : { exportIntervalMillis: config.exportIntervalMs };
  const out: IMetricReader[] = [];
  for (const kind of config.exporters) {
    if (kind === "otlp") {
      // Loaded only when used: it brings its own gRPC stack.
      const { OTLPMetricExporter } = await import("@opentelemetry/exporter-metrics-otlp-grpc");
      out.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(config.otlpEndpoint === undefined ? {} : { url: config.otlpEndpoint }), ...interval }));
    } else if (kind === "console") {
      out.push(new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), ...interval }));
    }
  }
  return out;
}

/** The instruments of one meter. */
export interface Instruments {
  readonly tasks: Counter;
  readonly duration: Histogram;
  readonly slo: Counter;
  readonly escalations: Counter;
  readonly money: Counter;
  readonly tokens: Counter;
}

function createInstruments(provider: MeterProvider, version: string): Instruments {
  const meter = provider.getMeter("agentmesh", version);
  return {
    tasks: meter.createCounter("agentmesh.tasks", { description: "Tasks by final state", unit: "{task}" }),
    duration: meter.createHistogram("agentmesh.task.duration", {
      description: "Wall time of a task's execution", unit: "s", advice: { explicitBucketBoundaries: durationBuckets },
    }),
    slo: meter.createCounter("agentmesh.task.slo", { description: "Tasks with an SLO target, by whether they finished within it", unit: "{task}" }),
    escalations: meter.createCounter("agentmesh.escalations", { description: "Tasks sent to a human for approval or refused by policy", unit: "{escalation}" }),
    money: meter.createCounter("agentmesh.task.cost.money_micros", { description: "Money cost of completed tasks, micro-units", unit: "{micro}" }),
    tokens: meter.createCounter("agentmesh.task.cost.tokens", { description: "Tokens used by completed tasks", unit: "{token}" }),
  };
}

/** True when a task with an SLO finished within it; undefined without an SLO or a duration. */
export function sloMet(f: Pick<TaskFact, "durationMs" | "sloMs">): boolean | undefined {
  return f.sloMs === undefined || f.durationMs === undefined ? undefined : f.durationMs <= f.sloMs;
}

/** Records one fact on the instruments. */
export function recordFact(i: Instruments, f: MetricFact): void {
  const base: Attributes = { "agentmesh.intent": f.intent, "agentmesh.agent": f.agent };
  if (f.kind === "escalation") {
    i.escalations.add(1, { ...base, "agentmesh.escalation.kind": f.escalation, "agentmesh.escalation.reason": f.reason });
    return;
  }
  const withState = { ...base, "agentmesh.state": f.state };
  i.tasks.add(1, withState);
  const met = sloMet(f);
  if (f.durationMs !== undefined) i.duration.record(f.durationMs / 1000, met === undefined ? withState : { ...withState, "agentmesh.slo_met": met });
  if (met !== undefined) i.slo.add(1, { ...base, "agentmesh.slo": met ? "met" : "missed" });
  if (f.state === "completed") {
    i.money.add(f.moneyMicros, base);
    i.tokens.add(f.inputTokens, { ...base, "agentmesh.token.type": "input" });
    i.tokens.add(f.outputTokens, { ...base, "agentmesh.token.type": "output" });
  }
}
