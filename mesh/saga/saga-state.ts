/**
 * The state of one saga as the coordinator keeps it in the KvStore (`saga/<id>`):
 * where each step and its compensation stand, and the trail of everything that
 * happened to it, for audit. Written with compare-and-set only (saga-store.ts).
 */
import { randomBytes } from "node:crypto";
import type { JsonObject, SagaDefinition } from "./saga-definition.js";

/**
 * Where a saga stands: `running` (steps going forward), `compensating` (a step
 * failed for good; undoing the completed ones, last first), and the terminal
 * `completed`, `compensated` (every completed step undone) and `failed` (a
 * compensation failed for good: a person must look).
 */
export type SagaStatus = "running" | "compensating" | "completed" | "compensated" | "failed";

/** The two delegations of a step: `do` runs it, `undo` compensates it. */
export type SagaPhase = "do" | "undo";

/** Where one delegation stands; `pending` ones never ran. */
export type ActionState = "pending" | "running" | "completed" | "failed";

/** Why a delegation failed for good. */
export interface StepError {
  /** Status code name ("failed_precondition") or "failed" / "rejected" / "canceled" for a task that ended so. */
  readonly code: string;
  /** The machine-readable reason of the error detail or task error ("" when none). */
  readonly reason: string;
  readonly message: string;
}

/** One delegation of a step. */
export interface SagaAction {
  readonly intent: string;
  /** `<saga id>.<nonce>.<step>.<phase>`: the idempotency key of the delegation. */
  readonly taskId: string;
  readonly state: ActionState;
  /** Deliveries of the request that tried it (1 when it ran once). */
  readonly attempts: number;
  /** Looks again at a delegation that was not over yet (held for approval): the last re-check taken on; absent before the first. */
  readonly checks?: number;
  /** The agent that ran it, once it completed. */
  readonly agent?: string;
  readonly outputs?: JsonObject;
  readonly error?: StepError;
  /** Failed with an unknown outcome (see `StepFailedEvent.uncertain`): it may have taken effect, so it is compensated too. */
  readonly uncertain?: boolean;
}

/** One step and its compensation. */
export interface SagaStepState {
  readonly name: string;
  readonly do: SagaAction;
  readonly undo: SagaAction;
}

/** One entry of the audit trail, in the order things happened. */
export interface TrailEntry {
  /** 1, 2, ... */
  readonly seq: number;
  /** ISO 8601. */
  readonly at: string;
  /** e.g. `saga.started`, `step.requested`, `step.completed`, `compensation.failed`, `saga.compensated`. */
  readonly event: string;
  readonly step?: string;
  readonly taskId?: string;
  readonly detail: string;
}

/** A saga's whole state. */
export interface SagaState {
  readonly sagaId: string;
  readonly name: string;
  readonly input: JsonObject;
  /** Subject of the caller that started it. */
  readonly startedBy: string;
  /**
   * Random, drawn when the saga is started and kept here: part of every step's
   * task id, so no one who knows the saga id can take a step's task id first.
   */
  readonly nonce: string;
  readonly status: SagaStatus;
  readonly steps: readonly SagaStepState[];
  readonly trail: readonly TrailEntry[];
  /** ISO 8601. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The KvStore key of a saga's state. */
export function sagaKey(sagaId: string): string {
  return `saga/${sagaId}`;
}

/** The task id of a step's delegation: `<saga id>.<nonce>.<step>.<phase>`. */
export function stepTaskId(sagaId: string, nonce: string, step: string, phase: SagaPhase): string {
  return `${sagaId}.${nonce}.${step}.${phase}`;
}

/** A fresh saga nonce: 96 random bits, base64url (16 characters of `[A-Za-z0-9_-]`). */
export function newSagaNonce(): string {
  return randomBytes(12).toString("base64url");
}

/** True for the statuses a saga ends in. */
export function isSagaTerminal(status: SagaStatus): boolean {
  return status === "completed" || status === "compensated" || status === "failed";
}

/** The state of a saga just started by `startedBy`: every delegation pending, one trail entry; a fresh nonce unless given. */
export function newSagaState(definition: SagaDefinition, sagaId: string, input: JsonObject, startedBy: string, now: string, nonce = newSagaNonce()): SagaState {
  return {
    sagaId,
    name: definition.name,
    input,
    startedBy,
    nonce,
    status: "running",
    steps: definition.steps.map((s) => ({
      name: s.name,
      do: { intent: s.intent, taskId: stepTaskId(sagaId, nonce, s.name, "do"), state: "pending", attempts: 0 },
      undo: { intent: s.compensation.intent, taskId: stepTaskId(sagaId, nonce, s.name, "undo"), state: "pending", attempts: 0 },
    })),
    trail: [{ seq: 1, at: now, event: "saga.started", detail: `${definition.name} started by ${startedBy} with ${definition.steps.length} steps` }],
    createdAt: now,
    updatedAt: now,
  };
}

/** Encodes a state for the KvStore. */
export function encodeSagaState(state: SagaState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(state));
}

/** Decodes a state read from the KvStore. */
export function decodeSagaState(value: Uint8Array): SagaState {
  return JSON.parse(new TextDecoder().decode(value)) as SagaState;
}
