/**
 * Starting a saga: its state is created in the KvStore (once per saga id), then
 * its `saga.started` event is published. Starting the same saga again (same id,
 * name, input and starter) is absorbed and publishes the event again, so a start
 * whose event was lost in a crash is completed by a retry.
 */
import type { TaskQueue } from "../queue/queue-types.js";
import { canonicalJson } from "../canonical-json.js";
import type { JsonObject, SagaDefinition } from "./saga-definition.js";
import { sagaIdPattern } from "./saga-definition.js";
import { publishSagaEvent } from "./saga-coordinator.js";
import { newSagaState } from "./saga-state.js";
import type { SagaState } from "./saga-state.js";
import type { SagaStore } from "./saga-store.js";

/** What `startSaga` needs. */
export interface StartSagaParts {
  readonly store: SagaStore;
  readonly queue: TaskQueue;
}

/** One start. */
export interface SagaStart {
  readonly definition: SagaDefinition;
  readonly sagaId: string;
  /** Already checked against the definition's input schema. */
  readonly input: JsonObject;
  readonly startedBy: string;
  /** ISO 8601; default now. */
  readonly now?: string;
}

/** The saga id was used for another saga, input or starter. */
export class SagaIdConflictError extends Error {
  override readonly name = "SagaIdConflictError";
  readonly nonRetryable = true;
  constructor(readonly sagaId: string) {
    super(`saga id ${sagaId} was already used for a different saga, input or starter; choose a new saga id`);
  }
}

/** A saga id that is not `[A-Za-z0-9][A-Za-z0-9_-]*` (at most 100 characters). */
export class InvalidSagaIdError extends Error {
  override readonly name = "InvalidSagaIdError";
  readonly nonRetryable = true;
  constructor(readonly sagaId: string) {
    super(`saga id ${JSON.stringify(sagaId)} must be 1 to 100 letters, digits, "_" or "-", starting with a letter or digit`);
  }
}

/** The mesh's longest task id (DelegateRequest.task_id). */
const maxTaskIdLength = 128;

/** A saga id so long that a step's task id (`<saga id>.<nonce>.<step>.<phase>`) would pass the mesh's 128 characters. */
export class SagaIdTooLongError extends Error {
  override readonly name = "SagaIdTooLongError";
  readonly nonRetryable = true;
  constructor(readonly sagaId: string, readonly maxLength: number) {
    super(`saga id ${sagaId} is too long for this saga's step task ids: use at most ${maxLength} characters`);
  }
}

/**
 * Starts `start.definition` as `start.sagaId`; resolves to the saga's state and
 * whether it had been started before. Throws `InvalidSagaIdError`,
 * `SagaIdTooLongError` and `SagaIdConflictError`; the store's and queue's errors pass through.
 */
export async function startSaga(parts: StartSagaParts, start: SagaStart): Promise<{ state: SagaState; alreadyStarted: boolean }> {
  if (!sagaIdPattern.test(start.sagaId)) throw new InvalidSagaIdError(start.sagaId);
  const fresh = newSagaState(start.definition, start.sagaId, start.input, start.startedBy, start.now ?? new Date().toISOString());
  const longest = Math.max(...fresh.steps.map((s) => s.undo.taskId.length));
  if (longest > maxTaskIdLength) throw new SagaIdTooLongError(start.sagaId, start.sagaId.length - (longest - maxTaskIdLength));
  const { created, saga } = await parts.store.create(fresh);
  const existing = saga.state;
  if (!created && (existing.name !== fresh.name || existing.startedBy !== fresh.startedBy || canonicalJson(existing.input) !== canonicalJson(fresh.input))) {
    throw new SagaIdConflictError(start.sagaId);
  }
  await publishSagaEvent(parts.queue, { kind: "saga.started", sagaId: start.sagaId });
  return { state: existing, alreadyStarted: !created };
}
