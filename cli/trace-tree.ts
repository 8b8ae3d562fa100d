/**
 * Finds a trace among span records (mesh/telemetry/span-record.ts) and prints it
 * as a tree: service, span name, intent, state, policy decision, cost and
 * duration on every line, children under their parent in start order.
 */
import type { SpanAttributes, SpanRecord } from "../mesh/index.js";

const traceIdPattern = /^[0-9a-f]{32}$/;

/**
 * The trace ids `id` names: itself when it is a trace id, else the traces of the
 * spans whose task id or correlation id it is, in order of first appearance
 * (a task retried under a new trace, or a correlation id over several tasks,
 * names several).
 */
export function traceIdsFor(spans: readonly SpanRecord[], id: string): string[] {
  const wanted = id.toLowerCase();
  if (traceIdPattern.test(wanted)) return spans.some((s) => s.traceId === wanted) ? [wanted] : [];
  const ids: string[] = [];
  for (const s of [...spans].sort((a, b) => a.startUs - b.startUs)) {
    if ((s.attributes["agentmesh.task_id"] === id || s.attributes["agentmesh.correlation_id"] === id) && !ids.includes(s.traceId)) ids.push(s.traceId);
  }
  return ids;
}

/** Formats a duration in microseconds as "12.3 ms" or "1.20 s". */
export function formatDuration(us: number): string {
  return us >= 1_000_000 ? `${(us / 1_000_000).toFixed(2)} s` : `${(us / 1000).toFixed(1)} ms`;
}

const num = (a: SpanAttributes, key: string): number | undefined => (typeof a[key] === "number" ? a[key] : undefined);

/** The rolled-up cost of a task span: "2 tool calls, 0 tokens, $0.000010"; undefined on spans without one. */
export function formatSpanCost(a: SpanAttributes): string | undefined {
  const tools = num(a, "agentmesh.cost.tool_calls");
  if (tools === undefined) return undefined;
  const tokens = (num(a, "agentmesh.cost.input_tokens") ?? 0) + (num(a, "agentmesh.cost.output_tokens") ?? 0);
  const money = ((num(a, "agentmesh.cost.money_micros") ?? 0) / 1e6).toFixed(6);
  return `${tools} tool calls, ${tokens} tokens, $${money}`;
}

/** "allow", "approval", or "deny (reason, ...)" from a span's `agentmesh.policy.*`. */
function decision(a: SpanAttributes): string | undefined {
  const allow = a["agentmesh.policy.allow"];
  const reasons = a["agentmesh.policy.reasons"];
  const listed = Array.isArray(reasons) && reasons.length > 0 ? ` (${reasons.join(", ")})` : "";
  if (allow === true) return `allow${listed}`;
  if (a["agentmesh.policy.requires_approval"] === true) return `approval${listed}`;
  if (allow === false || listed !== "") return `deny${listed}`;
  return undefined;
}

/** One line of the tree for `span`. */
export function formatSpanLine(span: SpanRecord): string {
  const a = span.attributes;
  const fields = [
    `${span.service}  ${span.name}${span.kind === "internal" ? "" : ` (${span.kind})`}`,
    typeof a["agentmesh.intent"] === "string" && !span.name.endsWith(a["agentmesh.intent"]) ? `intent ${a["agentmesh.intent"]}` : undefined,
    typeof a["agentmesh.state"] === "string" ? `state ${a["agentmesh.state"]}` : undefined,
    typeof a["agentmesh.approval.state"] === "string" ? `approval ${a["agentmesh.approval.state"]}` : undefined,
    ((d) => (d === undefined ? undefined : `policy ${d}`))(decision(a)),
    ((c) => (c === undefined ? undefined : `cost ${c}`))(formatSpanCost(a)),
    formatDuration(span.durationUs),
    span.status.code === "error" ? `✘ ${span.status.message ?? "error"}` : undefined,
  ];
  return fields.filter((f) => f !== undefined).join("  ");
}

/**
 * Earlier start first; spans started in the same microsecond (quick tool calls,
 * one after another) by end, then by span id, so that every read of the same
 * spans prints the same tree.
 */
function inStartOrder(a: SpanRecord, b: SpanRecord): number {
  return a.startUs - b.startUs || a.startUs + a.durationUs - (b.startUs + b.durationUs) || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}

/**
 * Returns the tree of the spans of one trace as lines of text, headed by the
 * trace id. A span whose parent is not among them (the caller's span lives in
 * no store read, or is still running) is a root.
 */
export function formatTraceTree(traceId: string, spans: readonly SpanRecord[]): string[] {
  const own = spans.filter((s) => s.traceId === traceId).sort(inStartOrder);
  const ids = new Set(own.map((s) => s.spanId));
  const children = new Map<string, SpanRecord[]>();
  const roots: SpanRecord[] = [];
  for (const s of own) {
    if (s.parentSpanId === undefined || !ids.has(s.parentSpanId)) roots.push(s);
    else children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
  }
  const out = [`trace ${traceId} (${own.length} spans)`];
  const walk = (nodes: readonly SpanRecord[], indent: string) => {
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1;
      out.push(`${indent}${last ? "└─ " : "├─ "}${formatSpanLine(n)}`);
      walk(children.get(n.spanId) ?? [], indent + (last ? "   " : "│  "));
    });
  };
  walk(roots, "");
  return out;
}
