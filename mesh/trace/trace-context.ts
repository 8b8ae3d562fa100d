/**
 * A call's position in its W3C trace (https://www.w3.org/TR/trace-context/), as
 * the mesh keeps it beside the OpenTelemetry span (`traceKey`): results carry its
 * trace id, the audit log records it, and a task held for approval stores it so
 * that it resumes in the same trace. The trace step (mesh/interceptors/trace.ts)
 * fills it from the call's SERVER span.
 */

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

/** Parses a `traceparent` header; undefined when absent or malformed. */
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

/** Formats the `traceparent` value a call made from within `ctx` sends. */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? "01" : "00"}`;
}
