/**
 * A finished span as the embedded store keeps it: one flat JSON object per line
 * of `<dataDir>/<service>.spans.jsonl`, enough for `agentmesh trace` to rebuild
 * the tree (ids, parent, service, name, times, status, attributes, events,
 * links) without the OTLP schema.
 */
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { AttributeValue, Attributes } from "@opentelemetry/api";
import { hrTimeToMicroseconds } from "@opentelemetry/core";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

/** Attribute values as JSON keeps them. */
export type SpanAttributes = Record<string, AttributeValue>;

/** One finished span. */
export interface SpanRecord {
  readonly traceId: string;
  readonly spanId: string;
  /** Absent on a root span. */
  readonly parentSpanId?: string;
  /** `service.name` of the service that made the span. */
  readonly service: string;
  readonly name: string;
  readonly kind: "internal" | "server" | "client" | "producer" | "consumer";
  /** Epoch microseconds. */
  readonly startUs: number;
  readonly durationUs: number;
  readonly status: { readonly code: "unset" | "ok" | "error"; readonly message?: string };
  readonly attributes: SpanAttributes;
  readonly events?: readonly { readonly name: string; readonly timeUs: number; readonly attributes: SpanAttributes }[];
  readonly links?: readonly { readonly traceId: string; readonly spanId: string; readonly attributes: SpanAttributes }[];
}

const kinds = { [SpanKind.INTERNAL]: "internal", [SpanKind.SERVER]: "server", [SpanKind.CLIENT]: "client", [SpanKind.PRODUCER]: "producer", [SpanKind.CONSUMER]: "consumer" } as const;
const statuses = { [SpanStatusCode.UNSET]: "unset", [SpanStatusCode.OK]: "ok", [SpanStatusCode.ERROR]: "error" } as const;

/** Converts a finished SDK span into its record. */
export function toSpanRecord(span: ReadableSpan): SpanRecord {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext?.spanId;
  const service = span.resource.attributes["service.name"];
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    ...(parent === undefined ? {} : { parentSpanId: parent }),
    service: typeof service === "string" ? service : "unknown",
    name: span.name,
    kind: kinds[span.kind],
    startUs: Math.round(hrTimeToMicroseconds(span.startTime)),
    durationUs: Math.round(hrTimeToMicroseconds(span.duration)),
    status: { code: statuses[span.status.code], ...(span.status.message === undefined ? {} : { message: span.status.message }) },
    attributes: plain(span.attributes),
    ...(span.events.length === 0 ? {} : { events: span.events.map((e) => ({ name: e.name, timeUs: Math.round(hrTimeToMicroseconds(e.time)), attributes: plain(e.attributes ?? {}) })) }),
    ...(span.links.length === 0 ? {} : { links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: plain(l.attributes ?? {}) })) }),
  };
}

function plain(attributes: Attributes): SpanAttributes {
  const out: SpanAttributes = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
  return out;
}
