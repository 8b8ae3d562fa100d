/**
 * The events a saga's transitions are made of. Each is one message on the
 * coordinator's queue subject (`saga.events`); its message id names the saga, the
 * step, the phase and the kind, so publishing the same event twice is absorbed
 * by the queue's dedup.
 */
import type { JsonObject } from "./saga-definition.js";
import type { SagaPhase, StepError } from "./saga-state.js";

/** The queue subject the coordinators consume. */
export const sagaEventsSubject = "saga.events";

/** A saga was started (its state exists): request its first step. */
export interface SagaStartedEvent {
  readonly kind: "saga.started";
  readonly sagaId: string;
}

/**
 * Run step `step` (index) in `phase`: the coordinator delegates it. With `check`,
 * it is the check-th look again at a delegation that was not over yet (held for
 * approval, queued, working): due at `notBefore` (epoch ms), after `failures`
 * retryable failures of the looks before it.
 */
export interface StepRequestedEvent {
  readonly kind: "step.requested";
  readonly sagaId: string;
  readonly step: number;
  readonly phase: SagaPhase;
  readonly check?: number;
  readonly notBefore?: number;
  readonly failures?: number;
}

/** The delegation of `step` in `phase` completed. */
export interface StepCompletedEvent {
  readonly kind: "step.completed";
  readonly sagaId: string;
  readonly step: number;
  readonly phase: SagaPhase;
  readonly agent: string;
  readonly outputs: JsonObject;
  readonly attempts: number;
}

/** The delegation of `step` in `phase` failed for good (not retryable, or out of attempts). */
export interface StepFailedEvent {
  readonly kind: "step.failed";
  readonly sagaId: string;
  readonly step: number;
  readonly phase: SagaPhase;
  readonly error: StepError;
  readonly attempts: number;
  /**
   * The delegation's outcome is unknown (it was canceled after its attempts ran
   * out and did not end completed): it may have taken effect, so it is
   * compensated too.
   */
  readonly uncertain?: boolean;
}

/** Any saga event. */
export type SagaEvent = SagaStartedEvent | StepRequestedEvent | StepCompletedEvent | StepFailedEvent;

/** The dedup id of an event's message: `<saga id>.started` or `<saga id>.<step index>.<phase>.<kind>` (`.check<n>` after a re-check's). */
export function sagaEventId(event: SagaEvent): string {
  if (event.kind === "saga.started") return `${event.sagaId}.started`;
  const check = event.kind === "step.requested" && event.check !== undefined ? `.check${event.check}` : "";
  return `${event.sagaId}.${event.step}.${event.phase}.${event.kind.slice("step.".length)}${check}`;
}

/** Encodes an event as a queue message body. */
export function encodeSagaEvent(event: SagaEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}

/** A queue message that is not a saga event; redelivering it cannot help. */
export class MalformedSagaEventError extends Error {
  override readonly name = "MalformedSagaEventError";
  readonly nonRetryable = true;
}

const kinds: ReadonlySet<string> = new Set(["saga.started", "step.requested", "step.completed", "step.failed"]);

/** Decodes a queue message body; throws `MalformedSagaEventError` for anything else. */
export function decodeSagaEvent(data: Uint8Array): SagaEvent {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    throw new MalformedSagaEventError("saga event is not JSON", { cause: err });
  }
  const e = doc as Partial<Record<string, unknown>>;
  if (typeof doc !== "object" || doc === null || typeof e.kind !== "string" || !kinds.has(e.kind) || typeof e.sagaId !== "string") {
    throw new MalformedSagaEventError("saga event lacks a known kind or a saga id");
  }
  if (e.kind !== "saga.started" && (typeof e.step !== "number" || (e.phase !== "do" && e.phase !== "undo"))) {
    throw new MalformedSagaEventError(`saga event ${e.kind} lacks a step index or phase`);
  }
  return doc as SagaEvent;
}
