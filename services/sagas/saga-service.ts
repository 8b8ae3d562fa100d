/**
 * `SagaService`: StartSaga and GetSaga over the saga store, behind the sagas
 * service's governance chain (the caller is verified there). Only ConnectError
 * leaves: the saga layer's named errors are mapped here.
 */
import { Code } from "@connectrpc/connect";
import { SagaService } from "../../gen/agentmesh/v1/saga_pb.js";
import type { GetSagaRequest, StartSagaRequest } from "../../gen/agentmesh/v1/saga_pb.js";
import {
  callerKey, describeViolations, invalidArgument, meshError, methodKey, sagaIdPattern, SagaIdConflictError, SagaIdTooLongError, startSaga, traceKey,
} from "../../mesh/index.js";
import type { JsonObject, Logger, MeshServiceImpl, RequestValidator, SagaDefinition, SagaStartRequest, SagaStore, SchemaValidator, TaskQueue } from "../../mesh/index.js";
import { sagaMessage } from "./saga-message.js";

/** What the service needs. */
export interface SagaServiceOptions {
  readonly store: SagaStore;
  readonly queue: TaskQueue;
  readonly definitions: ReadonlyMap<string, SagaDefinition>;
  readonly schemas: SchemaValidator;
  /** Throws the refusal when policy does not let the caller start the saga. */
  readonly authorize: (start: SagaStartRequest) => void;
  readonly logger: Logger;
}

/** Roles that may read sagas they did not start. */
const readers: ReadonlySet<string> = new Set(["auditor"]);

/**
 * Creates the implementation. StartSaga answers NOT_FOUND `saga_unknown`,
 * INVALID_ARGUMENT `input_invalid` (the input fails the saga's schema), the
 * policy's refusal, INVALID_ARGUMENT `saga_id_too_long` (a step's task id would
 * pass 128 characters) and ALREADY_EXISTS `saga_id_conflict`; GetSaga answers
 * NOT_FOUND `saga_not_found` and PERMISSION_DENIED `not_saga_owner`.
 */
export function createSagaServiceImpl(o: SagaServiceOptions): MeshServiceImpl<typeof SagaService> {
  return {
    async startSaga(req: StartSagaRequest, call) {
      const caller = call.values.get(callerKey)!;
      const definition = o.definitions.get(req.name);
      if (definition === undefined) {
        throw meshError(Code.NotFound, `no saga named ${req.name}; known: ${[...o.definitions.keys()].join(", ")}`, { reason: "saga_unknown" });
      }
      const input = (req.input ?? {}) as JsonObject;
      const violations = o.schemas.validate(definition.inputSchema, input, "input");
      if (violations.length > 0) throw invalidArgument(`invalid input for saga ${req.name}: ${describeViolations(violations)}`, "input_invalid", [...violations]);
      o.authorize({ caller, sagaId: req.sagaId, name: req.name, input, ...traceOf(call.values.get(traceKey)) });
      try {
        const { state, alreadyStarted } = await startSaga({ store: o.store, queue: o.queue }, { definition, sagaId: req.sagaId, input, startedBy: caller.subject });
        if (!alreadyStarted) o.logger.info("saga started", { saga_id: req.sagaId, saga: req.name, by: caller.subject });
        return { saga: sagaMessage(state), alreadyStarted };
      } catch (err) {
        if (err instanceof SagaIdConflictError) throw meshError(Code.AlreadyExists, err.message, { reason: "saga_id_conflict", metadata: { saga_id: req.sagaId } });
        if (err instanceof SagaIdTooLongError) throw invalidArgument(err.message, "saga_id_too_long", [{ field: "saga_id", description: `must be at most ${err.maxLength} characters for saga ${req.name}` }]);
        throw err;
      }
    },
    async getSaga(req: GetSagaRequest, call) {
      const caller = call.values.get(callerKey)!;
      const saga = await o.store.get(req.sagaId);
      if (saga === undefined) throw meshError(Code.NotFound, `no saga with id ${req.sagaId}`, { reason: "saga_not_found", metadata: { saga_id: req.sagaId } });
      if (saga.state.startedBy !== caller.subject && !readers.has(caller.role)) {
        throw meshError(Code.PermissionDenied, `saga ${req.sagaId} was started by another caller`, { reason: "not_saga_owner" });
      }
      return { saga: sagaMessage(saga.state) };
    },
  };
}

function traceOf(trace: { traceId: string } | undefined): { traceId?: string } {
  return trace === undefined ? {} : { traceId: trace.traceId };
}

/** Request validators of SagaService, for the governance chain's table. */
export function createSagaValidators(): Map<string, RequestValidator> {
  const id = (sagaId: string) => (sagaIdPattern.test(sagaId) ? [] : [{ field: "saga_id", description: "must be 1 to 100 of [A-Za-z0-9_-], starting with a letter or digit" }]);
  const check = (type: string, violations: { field: string; description: string }[]) => {
    if (violations.length > 0) throw invalidArgument(`invalid ${type}: ${describeViolations(violations, violations.length)}`, "request_invalid", violations);
  };
  return new Map<string, RequestValidator>([
    [methodKey(SagaService.method.startSaga), (msg) => {
      const req = msg as StartSagaRequest;
      check("StartSagaRequest", [
        ...id(req.sagaId),
        ...(/^[a-z][a-z0-9-]{0,62}$/.test(req.name) ? [] : [{ field: "name", description: "must be a saga name ([a-z][a-z0-9-]*)" }]),
        ...(req.input === undefined ? [{ field: "input", description: "is required" }] : []),
      ]);
    }],
    [methodKey(SagaService.method.getSaga), (msg) => check("GetSagaRequest", id((msg as GetSagaRequest).sagaId))],
  ]);
}
