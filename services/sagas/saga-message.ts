/** A saga's state as the `agentmesh.v1.Saga` message. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { SagaActionState, SagaSchema, SagaStatus } from "../../gen/agentmesh/v1/saga_pb.js";
import type { Saga, SagaAction } from "../../gen/agentmesh/v1/saga_pb.js";
import { sagaTraceId } from "../../mesh/index.js";
import type { ActionState, SagaAction as SagaActionRecord, SagaState, SagaStatus as Status } from "../../mesh/index.js";

const statuses: Record<Status, SagaStatus> = {
  running: SagaStatus.RUNNING,
  compensating: SagaStatus.COMPENSATING,
  completed: SagaStatus.COMPLETED,
  compensated: SagaStatus.COMPENSATED,
  failed: SagaStatus.FAILED,
};

const actionStates: Record<ActionState, SagaActionState> = {
  pending: SagaActionState.PENDING,
  running: SagaActionState.RUNNING,
  completed: SagaActionState.COMPLETED,
  failed: SagaActionState.FAILED,
};

/** Converts a stored state into the message GetSaga and StartSaga answer with. */
export function sagaMessage(state: SagaState): Saga {
  return create(SagaSchema, {
    sagaId: state.sagaId,
    name: state.name,
    status: statuses[state.status],
    input: state.input as never,
    startedBy: state.startedBy,
    steps: state.steps.map((s) => ({ name: s.name, action: action(s.do), compensation: action(s.undo) })),
    trail: state.trail.map((e) => ({ seq: e.seq, time: timestampFromDate(new Date(e.at)), event: e.event, step: e.step ?? "", taskId: e.taskId ?? "", detail: e.detail })),
    createdAt: timestampFromDate(new Date(state.createdAt)),
    updatedAt: timestampFromDate(new Date(state.updatedAt)),
    traceId: sagaTraceId(state.sagaId),
  });
}

function action(a: SagaActionRecord): Omit<SagaAction, "$typeName"> {
  return {
    intent: a.intent,
    taskId: a.taskId,
    state: actionStates[a.state],
    attempts: a.attempts,
    agent: a.agent ?? "",
    ...(a.outputs === undefined ? {} : { outputs: a.outputs as never }),
    errorCode: a.error?.code ?? "",
    errorReason: a.error?.reason ?? "",
    errorMessage: a.error?.message ?? "",
  };
}
