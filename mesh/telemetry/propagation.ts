/**
 * W3C trace context and baggage on mesh hops. Every incoming call is extracted
 * from its headers (whatever the transport: `MeshCall.header`), every outgoing hop
 * is injected into its metadata. The propagator is this fixed composite rather
 * than the global `propagation` API, which is a no-op until something registers
 * a propagator process-wide: services share a process in tests, so none does.
 */
import { ROOT_CONTEXT, TraceFlags, defaultTextMapSetter, trace } from "@opentelemetry/api";
import type { Context, TextMapGetter, TextMapPropagator } from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import type { HeaderReader } from "../call.js";
import type { TraceContext } from "../trace/trace-context.js";

/** The propagator of the mesh: `traceparent`/`tracestate` and `baggage`. */
export const meshPropagator: TextMapPropagator = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

const headerGetter: TextMapGetter<HeaderReader> = {
  keys: () => [],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

/** The context a call's headers carry (the root context when they carry none). */
export function extractContext(header: HeaderReader): Context {
  return meshPropagator.extract(ROOT_CONTEXT, header, headerGetter);
}

/** Writes the trace context and baggage of `ctx` into `metadata` (lowercase names). */
export function injectContext(ctx: Context, metadata: Record<string, string>): void {
  meshPropagator.inject(ctx, metadata, defaultTextMapSetter);
}

/** The context of a stored trace position (an approved task resuming), as a remote parent. */
export function contextOf(stored: TraceContext): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: stored.traceId,
    spanId: stored.spanId,
    traceFlags: stored.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}
