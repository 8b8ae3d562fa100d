/**
 * One trace per saga: every delegation of a saga carries a W3C `traceparent` whose
 * trace id is derived from the saga id, so the gateway and the agents continue
 * the same trace for every step and compensation, across coordinator restarts,
 * and `agentmesh trace <trace id>` shows the whole saga.
 */
import { createHash } from "node:crypto";
import { formatTraceparent } from "../trace/trace-context.js";

/** The trace id of saga `sagaId`: the first 32 hex digits of its SHA-256. */
export function sagaTraceId(sagaId: string): string {
  return createHash("sha256").update(`saga:${sagaId}`).digest("hex").slice(0, 32);
}

/** The `traceparent` a delegation of task `taskId` in saga `sagaId` is sent with (sampled). */
export function sagaTraceparent(sagaId: string, taskId: string): string {
  const spanId = createHash("sha256").update(`task:${taskId}`).digest("hex").slice(0, 16);
  return formatTraceparent({ traceId: sagaTraceId(sagaId), spanId, parentSpanId: undefined, sampled: true });
}
