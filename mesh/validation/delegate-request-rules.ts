/**
 * The constraints a `DelegateRequest` must meet before its inputs are even looked
 * at. These are the proto-level rules the field comments in delegation.proto
 * state; each broken rule becomes one field violation.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { SchemaViolation } from "./json-schema.js";

/** Pattern of task and correlation ids. */
export const idPattern = /^[A-Za-z0-9._:-]{1,128}$/;
/** Pattern of intent names: lowercase words joined by dots. */
export const intentPattern = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;

const digestPattern = /^sha256:[0-9a-f]{64}$/;

/** Returns the violations of the proto-level rules (empty when the request is well-formed). */
export function delegateRequestViolations(req: DelegateRequest): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  if (!idPattern.test(req.taskId)) {
    out.push({ field: "task_id", description: "must be 1 to 128 characters of [A-Za-z0-9._:-]" });
  }
  if (req.correlationId !== "" && !idPattern.test(req.correlationId)) {
    out.push({ field: "correlation_id", description: "must be 1 to 128 characters of [A-Za-z0-9._:-]" });
  }
  if (!intentPattern.test(req.intent)) {
    out.push({ field: "intent", description: "must be lowercase words joined by dots, e.g. \"copy.draft\"" });
  }
  const c = req.constraints;
  if (c !== undefined) {
    if (c.maxCostMicros < 0n) out.push({ field: "constraints.max_cost_micros", description: "must not be negative" });
    if (c.maxTokens < 0n) out.push({ field: "constraints.max_tokens", description: "must not be negative" });
    c.allowedTools.forEach((t, i) => {
      if (t === "") out.push({ field: `constraints.allowed_tools[${i}]`, description: "must not be empty" });
    });
  }
  const minConfidence = req.successCriteria?.minConfidence ?? 0;
  if (!(minConfidence >= 0 && minConfidence <= 1)) {
    out.push({ field: "success_criteria.min_confidence", description: "must be between 0 and 1" });
  }
  req.successCriteria?.criteria.forEach((cr, i) => {
    if (cr.outputsSchema === undefined) out.push({ field: `success_criteria.criteria[${i}].outputs_schema`, description: "is required" });
  });
  const target = req.slo?.targetDuration;
  if (target !== undefined && (target.seconds < 0n || target.nanos < 0)) {
    out.push({ field: "slo.target_duration", description: "must not be negative" });
  }
  req.artifacts.forEach((a, i) => {
    if (a.uri === "") out.push({ field: `artifacts[${i}].uri`, description: "is required" });
    if (!digestPattern.test(a.digest)) out.push({ field: `artifacts[${i}].digest`, description: "must be \"sha256:\" and 64 hex digits" });
    if (a.sizeBytes < 0n) out.push({ field: `artifacts[${i}].size_bytes`, description: "must not be negative" });
  });
  return out;
}

/** The earlier of the RPC deadline and the request's own deadline, in epoch ms; undefined when neither is set. */
export function effectiveDeadlineMs(rpcDeadline: number | undefined, req: DelegateRequest): number | undefined {
  const own = constraintDeadlineMs(req);
  if (rpcDeadline === undefined) return own;
  if (own === undefined) return rpcDeadline;
  return Math.min(rpcDeadline, own);
}

/** The request's own deadline in epoch ms, or undefined. */
export function constraintDeadlineMs(req: DelegateRequest): number | undefined {
  const d = req.constraints?.deadline;
  return d === undefined ? undefined : timestampMs(d);
}
