/** Building `Result` snapshots from a request and its call context. */
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import { ResultSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshCall } from "../call.js";
import { chainKey, decisionKey, traceKey } from "../context-keys.js";

/** The SUBMITTED snapshot of a task accepted by `agent`. */
export function initialResult(req: DelegateRequest, call: MeshCall, agent: string): Result {
  const now = timestampNow();
  return create(ResultSchema, {
    taskId: req.taskId,
    correlationId: req.correlationId === "" ? req.taskId : req.correlationId,
    intent: req.intent,
    agent,
    state: TaskState.SUBMITTED,
    decision: call.values.get(decisionKey),
    traceId: call.values.get(traceKey)?.traceId ?? "",
    depth: call.values.get(chainKey)?.hops.length ?? 0,
    createdAt: now,
    updatedAt: now,
  });
}

/** A copy of `result` in `state`, stamped now, with `changes` applied. */
export function withState(result: Result, state: TaskState, changes: Partial<Result> = {}): Result {
  return create(ResultSchema, { ...result, ...changes, state, updatedAt: timestampNow() });
}
