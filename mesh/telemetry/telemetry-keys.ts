/**
 * Per-call OpenTelemetry state, beside the mesh's own context keys
 * (mesh/context-keys.ts). The trace step sets the call's context (its SERVER
 * span); a task that outlives the call replaces it with its task span's, so
 * every hop the task makes is a child of the task.
 */
import { createContextKey } from "@connectrpc/connect";
import { trace } from "@opentelemetry/api";
import type { Context, SpanContext } from "@opentelemetry/api";

/** The OpenTelemetry context work on behalf of this call runs in; undefined before the trace step (or on a resumed task). */
export const otelContextKey = createContextKey<Context | undefined>(undefined, { description: "OpenTelemetry context" });

/**
 * On an approved task resuming: the span of the call that approved it (the
 * approver's Decide), which the task span links to.
 */
export const approvedInKey = createContextKey<SpanContext | undefined>(undefined, { description: "span that approved the task" });

/** The span context of `ctx`, if it holds a span. */
export function spanContextOf(ctx: Context | undefined): SpanContext | undefined {
  return ctx === undefined ? undefined : trace.getSpanContext(ctx);
}
