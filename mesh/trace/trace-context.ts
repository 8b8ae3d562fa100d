/**
 * W3C trace context (https://www.w3.org/TR/trace-context/) as the mesh carries it
 * from hop to hop in the `traceparent` header. Each incoming call continues the
 * caller's trace (or starts one), so one delegation is one trace id end to end.
 */
import { randomBytes } from "node:crypto";

/** The trace position of one call. */
export interface TraceContext {
  /** 32 lowercase hex characters. */
  readonly traceId: string;
  /** 16 lowercase hex characters: the span of this call. */
  readonly spanId: string;
  /** The caller's span id, when the call continued a trace. */
  readonly parentSpanId: string | undefined;
  readonly sampled: boolean;
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const allZeroTrace = "0".repeat(32);
const allZeroSpan = "0".repeat(16);

/** Parses a `traceparent` header; undefined when absent or malformed (then a new trace starts). */
export function parseTraceparent(value: string | null): { traceId: string; spanId: string; sampled: boolean } | undefined {
  if (value === null) {
    return undefined;
  }
  const m = traceparentPattern.exec(value.trim());
  if (m === null || m[1] === allZeroTrace || m[2] === allZeroSpan) {
    return undefined;
  }
  return { traceId: m[1]!, spanId: m[2]!, sampled: (parseInt(m[3]!, 16) & 1) === 1 };
}

/** Continues the trace named by `traceparent`, or starts a new one. */
export function continueTrace(traceparent: string | null): TraceContext {
  const parent = parseTraceparent(traceparent);
  const spanId = randomBytes(8).toString("hex");
  if (parent === undefined) {
    return { traceId: randomBytes(16).toString("hex"), spanId, parentSpanId: undefined, sampled: true };
  }
  return { traceId: parent.traceId, spanId, parentSpanId: parent.spanId, sampled: parent.sampled };
}

/** Formats the `traceparent` value a call made from within `ctx` sends. */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? "01" : "00"}`;
}
