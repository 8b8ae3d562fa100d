/**
 * Reads traces back from Jaeger's query HTTP API (the v1 JSON API Jaeger v2
 * still serves: `/api/traces/{traceId}` and `/api/traces?service=...&tags=...`)
 * and converts its spans into the span records of the embedded store
 * (mesh/telemetry/span-record.ts), so `agentmesh trace --jaeger` prints the same
 * tree (cli/trace-tree.ts) and tests assert on the same shape.
 */
import type { SpanAttributes, SpanRecord } from "../mesh/index.js";
import { formatTraceTree, traceIdsFor } from "./trace-tree.js";

/** A key-value of Jaeger's JSON model (`tags`, process tags, log fields). */
export interface JaegerKeyValue {
  readonly key: string;
  readonly type?: string;
  readonly value: unknown;
}

/** A span of Jaeger's JSON model. */
export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  readonly references?: readonly { readonly refType: string; readonly traceID: string; readonly spanID: string }[];
  /** Epoch microseconds. */
  readonly startTime: number;
  readonly duration: number;
  readonly tags?: readonly JaegerKeyValue[];
  readonly logs?: readonly { readonly timestamp: number; readonly fields?: readonly JaegerKeyValue[] }[];
  readonly processID: string;
}

/** A trace of Jaeger's JSON model. */
export interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Readonly<Record<string, { readonly serviceName: string; readonly tags?: readonly JaegerKeyValue[] }>>;
}

/** The body of Jaeger's `/api/traces` answers. */
interface JaegerResponse {
  readonly data?: readonly JaegerTrace[] | null;
  readonly errors?: readonly { readonly code?: number; readonly msg?: string }[] | null;
}

const kinds: Readonly<Record<string, SpanRecord["kind"]>> = { server: "server", client: "client", producer: "producer", consumer: "consumer", internal: "internal" };

/** Tags Jaeger derives from the OTLP span (kind, status, scope) rather than its attributes. */
const derivedTags = new Set(["span.kind", "otel.status_code", "otel.status_description", "error", "otel.scope.name", "otel.scope.version", "otel.library.name", "otel.library.version", "internal.span.format"]);

/** A tag's value as an attribute value: OTLP arrays reach Jaeger as JSON text and are parsed back. */
function attributeValue(kv: JaegerKeyValue): SpanAttributes[string] {
  const v = kv.value;
  if (typeof v === "string" && v.startsWith("[") && v.endsWith("]")) {
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed) && parsed.every((x) => ["string", "number", "boolean"].includes(typeof x))) return parsed as SpanAttributes[string];
    } catch {
      // Not JSON: the string it is.
    }
  }
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  return JSON.stringify(v);
}

function attributesOf(kvs: readonly JaegerKeyValue[] | undefined, skip: ReadonlySet<string> = new Set()): SpanAttributes {
  const out: SpanAttributes = {};
  for (const kv of kvs ?? []) if (!skip.has(kv.key)) out[kv.key] = attributeValue(kv);
  return out;
}

/** The span records of a Jaeger trace: parent from the CHILD_OF reference, links from FOLLOWS_FROM. */
export function jaegerSpanRecords(trace: JaegerTrace): SpanRecord[] {
  return trace.spans.map((s) => {
    const tags = new Map((s.tags ?? []).map((t) => [t.key, t.value]));
    const text = (key: string) => (typeof tags.get(key) === "string" ? (tags.get(key) as string) : "");
    const parent = s.references?.find((r) => r.refType === "CHILD_OF" && r.traceID === s.traceID);
    const links = (s.references ?? []).filter((r) => r !== parent);
    const statusCode = text("otel.status_code").toUpperCase();
    const message = tags.get("otel.status_description");
    const status: SpanRecord["status"] =
      statusCode === "ERROR" || (statusCode === "" && tags.get("error") === true)
        ? { code: "error", ...(typeof message === "string" ? { message } : {}) }
        : { code: statusCode === "OK" ? "ok" : "unset" };
    const events = (s.logs ?? []).map((l) => {
      const fields = l.fields ?? [];
      const name = fields.find((f) => f.key === "event")?.value;
      return { name: typeof name === "string" ? name : "", timeUs: l.timestamp, attributes: attributesOf(fields, new Set(["event"])) };
    });
    return {
      traceId: s.traceID.padStart(32, "0"),
      spanId: s.spanID.padStart(16, "0"),
      ...(parent === undefined ? {} : { parentSpanId: parent.spanID.padStart(16, "0") }),
      service: trace.processes[s.processID]?.serviceName ?? "unknown",
      name: s.operationName,
      kind: kinds[text("span.kind")] ?? "internal",
      startUs: s.startTime,
      durationUs: s.duration,
      status,
      attributes: attributesOf(s.tags, derivedTags),
      ...(events.length === 0 ? {} : { events }),
      ...(links.length === 0 ? {} : { links: links.map((l) => ({ traceId: l.traceID.padStart(32, "0"), spanId: l.spanID.padStart(16, "0"), attributes: {} })) }),
    };
  });
}

async function getTraces(url: string): Promise<JaegerTrace[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new Error(`could not reach Jaeger's query API at ${new URL(url).origin}: ${cause}`);
  });
  if (res.status === 404) return [];
  const body = (await res.json().catch(() => ({}))) as JaegerResponse;
  if (!res.ok) throw new Error(`Jaeger answered ${res.status} to ${url}: ${body.errors?.map((e) => e.msg).join("; ") ?? res.statusText}`);
  return [...(body.data ?? [])];
}

/** How far back a search by task or correlation id looks. */
const searchLookbackUs = 7 * 24 * 3600 * 1_000_000;

/**
 * Every span of the traces `id` names, read from the Jaeger at `baseUrl`: the
 * trace itself for a trace id; else the traces in which the gateway recorded
 * `id` as `agentmesh.task_id` or, failing that, `agentmesh.correlation_id`.
 */
export async function fetchJaegerSpans(baseUrl: string, id: string): Promise<SpanRecord[]> {
  const base = baseUrl.replace(/\/+$/, "");
  if (/^[0-9a-f]{32}$/i.test(id)) return (await getTraces(`${base}/api/traces/${id.toLowerCase()}`)).flatMap(jaegerSpanRecords);
  const end = Date.now() * 1000;
  for (const key of ["agentmesh.task_id", "agentmesh.correlation_id"]) {
    const query = new URLSearchParams({ service: "gateway", tags: JSON.stringify({ [key]: id }), start: String(end - searchLookbackUs), end: String(end), limit: "20" });
    const traces = await getTraces(`${base}/api/traces?${query.toString()}`);
    if (traces.length > 0) return traces.flatMap(jaegerSpanRecords);
  }
  return [];
}

/** The trees of every trace `id` names, from Jaeger, as lines; throws when none is found. */
export async function jaegerTraceReport(baseUrl: string, id: string): Promise<string[]> {
  const spans = await fetchJaegerSpans(baseUrl, id);
  const traceIds = traceIdsFor(spans, id);
  if (traceIds.length === 0) {
    throw new Error(`no trace for ${id} in Jaeger at ${baseUrl}; services export in batches (OTEL_BSP_SCHEDULE_DELAY, 5 s by default) and on stop`);
  }
  return traceIds.flatMap((t, i) => [...(i === 0 ? [] : [""]), ...formatTraceTree(t, spans)]);
}
