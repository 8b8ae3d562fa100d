/**
 * Step 2: trace context. Continues the caller's W3C trace (or starts one) so that
 * one delegation is one trace across every hop.
 */
import type { MeshInterceptor } from "../call.js";
import { traceKey } from "../context-keys.js";
import { continueTrace } from "../trace/trace-context.js";

/** Creates the trace step. */
export function createTraceInterceptor(): MeshInterceptor {
  return (next) => (call) => {
    call.values.set(traceKey, continueTrace(call.header.get("traceparent")));
    return next(call);
  };
}
