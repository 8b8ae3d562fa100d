/**
 * The saga coordinator: a durable consumer of `saga.events` that drives every
 * saga forward one event at a time. For each event it reads the saga's state
 * from the KvStore, applies the event with compare-and-set (saga-transition.ts),
 * publishes the next event and only then acks, so a coordinator that dies at any
 * point leaves an unacked event that is delivered again, and the state tells what
 * was already done. A `step.requested` event is the one that works: it delegates
 * the step through the gateway (step-runner.ts) and publishes its outcome. A
 * delegation that is not over yet (held for a human approval) holds no delivery:
 * the event is acked and a re-check event, due `recheckMs` later and numbered in
 * the saga's state (so a redelivery or a restart continues one chain of them),
 * delegates it again with the same task id, which reads how it stands.
 *
 * Retries: a step whose delegation failed in a way a retry may fix is nak'ed and
 * delivered again after a back-off, with the same task id. After
 * `maxStepAttempts` deliveries its outcome is unknown (the task may still run, or
 * have run): the coordinator cancels the task through the gateway and reads how
 * it ended. Completed counts as completed; anything else fails the step for good
 * as `uncertain`, and the saga compensates it too, before the steps before it.
 */
import type { Delivery, QueueConsumer, TaskQueue } from "../queue/queue-types.js";
import type { Logger } from "../logger.js";
import type { JsonObject, SagaDefinition } from "./saga-definition.js";
import { decodeSagaEvent, encodeSagaEvent, MalformedSagaEventError, sagaEventId, sagaEventsSubject } from "./saga-events.js";
import type { SagaEvent, StepRequestedEvent } from "./saga-events.js";
import type { SagaState, StepError } from "./saga-state.js";
import { SagaNotFoundError } from "./saga-store.js";
import type { SagaStore } from "./saga-store.js";
import { applySagaEvent, awaitedEvents, recordStepAttempt, recordStepCheck } from "./saga-transition.js";
import type { StepCanceller, StepOutcome, StepRunner } from "./step-runner.js";

/** Options of `startSagaCoordinator`. */
export interface SagaCoordinatorOptions {
  readonly queue: TaskQueue;
  readonly store: SagaStore;
  /** The sagas this coordinator can drive, by name. */
  readonly definitions: ReadonlyMap<string, SagaDefinition>;
  readonly runStep: StepRunner;
  /** Cancels a delegation whose outcome is unknown and reads how it ended (step-runner.ts). */
  readonly cancelStep: StepCanceller;
  readonly logger: Logger;
  /** Deliveries of a step request before its delegation fails for good; default 4 (keep it below the queue's `maxDeliveries`). */
  readonly maxStepAttempts?: number;
  /** Delay before a step is tried again after the n-th retryable failure (the last repeats); default [1000, 5000, 15000]. */
  readonly retryBackoffMs?: readonly number[];
  /** How often a running step tells the queue it is still being worked on; default 5 s (keep it well below the queue's ack wait). */
  readonly heartbeatMs?: number;
  /** How long after a delegation that was not over yet (held for approval) it is looked at again; default 5 s. */
  readonly recheckMs?: number;
  /** Events handled at once; default 16. A step held for approval occupies none while it waits. */
  readonly maxInFlight?: number;
  /** The clock; default `() => new Date()`. */
  readonly now?: () => Date;
}

/** A running coordinator. */
export interface SagaCoordinator {
  /**
   * Re-publishes the event every unfinished saga waits for (absorbed when it is
   * queued already; under a fresh id when one of the saga's events was
   * dead-lettered); resolves to how many sagas that was.
   */
  resume(): Promise<number>;
  /** Stops taking events; steps running now are abandoned (their events are delivered again) and awaitedEvents. */
  stop(): Promise<void>;
}

/**
 * Publishes `event` on the saga subject, deduplicated by its id (and `idSuffix`:
 * a re-publication that the dedup record of a dead-lettered copy must not absorb).
 */
export async function publishSagaEvent(queue: TaskQueue, event: SagaEvent, idSuffix?: string): Promise<void> {
  const id = idSuffix === undefined ? sagaEventId(event) : `${sagaEventId(event)}.${idSuffix}`;
  await queue.enqueue({ id, subject: sagaEventsSubject, data: encodeSagaEvent(event), headers: { "saga-id": event.sagaId, kind: event.kind } });
}

/** Starts consuming `saga.events`. */
export function startSagaCoordinator(o: SagaCoordinatorOptions): SagaCoordinator {
  const maxStepAttempts = o.maxStepAttempts ?? 4;
  const backoff = o.retryBackoffMs ?? [1000, 5000, 15000];
  const heartbeatMs = o.heartbeatMs ?? 5000;
  const recheckMs = o.recheckMs ?? 5000;
  const now = () => (o.now ?? (() => new Date()))().toISOString();
  const stopping = new AbortController();

  const apply = async (event: Exclude<SagaEvent, StepRequestedEvent>): Promise<void> => {
    const next = await o.store.mutate(event.sagaId, (current) => {
      const t = applySagaEvent(current, event, now());
      if (t.changed) o.logger.info("saga event applied", { saga_id: event.sagaId, event: event.kind, status: t.state.status });
      return { state: t.changed ? t.state : undefined, result: t.next };
    });
    for (const e of next) await publishSagaEvent(o.queue, e);
  };

  const runRequested = async (event: StepRequestedEvent, delivery: Delivery): Promise<void> => {
    const check = event.check;
    // A re-check due later: back on the queue until then (it holds no slot meanwhile).
    if (check !== undefined && event.notBefore !== undefined && event.notBefore > Date.now()) return delivery.nak("a re-check, not due yet", event.notBefore - Date.now());
    const state = await o.store.mutate(event.sagaId, (current) => {
      const action = current.steps[event.step]?.[event.phase];
      if (action?.state !== "running") return { state: undefined, result: undefined };
      if (check === undefined) {
        // The first request of a delegation that is being re-checked already is stale.
        if (action.checks !== undefined) return { state: undefined, result: undefined };
        return { state: recordStepAttempt(current, event.step, event.phase, delivery.attempt, now(), delivery.errors.at(-1)), result: current };
      }
      const next = recordStepCheck(current, event.step, event.phase, check);
      return { state: next === current ? undefined : next, result: next };
    });
    // A stale request (the step ended meanwhile): whoever ended it published what comes next.
    if (state === undefined) return delivery.ack();
    const outcome = await runWithHeartbeat(state, event, delivery);
    const attempts = check === undefined ? delivery.attempt : state.steps[event.step]![event.phase].attempts;
    // Retryable failures so far: the deliveries of the first request, or those the re-checks counted.
    const failures = check === undefined ? delivery.attempt : (event.failures ?? 0) + (outcome.kind === "retry" ? 1 : 0);
    if (outcome.kind === "waiting" || (outcome.kind === "retry" && check !== undefined && failures < maxStepAttempts)) {
      // Not over yet (e.g. held for a person): look again later instead of holding the delivery.
      const delay = outcome.kind === "waiting" ? recheckMs : backoff[Math.min(failures, backoff.length) - 1]!;
      await publishSagaEvent(o.queue, { ...stepIds(event), check: (check ?? 0) + 1, notBefore: Date.now() + delay, failures: check === undefined ? 0 : failures });
      return delivery.ack();
    }
    if (outcome.kind === "retry" && failures < maxStepAttempts) {
      o.logger.warn("saga step will be retried", { saga_id: event.sagaId, step: event.step, phase: event.phase, attempt: attempts, error: outcome.message });
      return delivery.nak(outcome.message, backoff[Math.min(attempts, backoff.length) - 1]);
    }
    const step = event.step;
    // Out of attempts, the delegation's outcome is unknown: it may still run, or have run.
    // Cancel it and take its end as the outcome; only a completed task counts as completed.
    const settled = outcome.kind === "retry" ? await settleUnknown(state, event, delivery, outcome.message) : outcome;
    const ids = { sagaId: event.sagaId, step, phase: event.phase, attempts };
    const result: SagaEvent = settled.kind === "completed"
      ? { kind: "step.completed", ...ids, agent: settled.agent, outputs: settled.outputs }
      : outcome.kind === "failed"
        ? { kind: "step.failed", ...ids, error: outcome.error }
        : { kind: "step.failed", ...ids, error: exhausted(failures, "message" in outcome ? outcome.message : outcome.kind), uncertain: true };
    await publishSagaEvent(o.queue, result);
    await delivery.ack();
  };

  /** Cancels the requested step's task (its outcome is unknown) and reads how it ended. */
  const settleUnknown = async (state: SagaState, event: StepRequestedEvent, delivery: Delivery, lastError: string): Promise<StepOutcome> => {
    const taskId = state.steps[event.step]![event.phase].taskId;
    o.logger.warn("saga step out of attempts; canceling its task", { saga_id: event.sagaId, step: event.step, phase: event.phase, task_id: taskId, error: lastError });
    return withHeartbeat(delivery, () => o.cancelStep({ sagaId: state.sagaId, taskId }, `saga ${state.sagaId} gave up on this step after ${plural(delivery.attempt)}: ${lastError}`, stopping.signal));
  };

  /** Runs `work`, telling the queue every `heartbeatMs` that the delivery is still worked on. */
  const withHeartbeat = async <T>(delivery: Delivery, work: () => Promise<T>): Promise<T> => {
    const timer = setInterval(() => {
      delivery.working().catch((err: unknown) => o.logger.warn("could not extend the delivery", { saga_id: delivery.headers["saga-id"], error: String(err) }));
    }, heartbeatMs);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  };

  /** Delegates the requested step, telling the queue every `heartbeatMs` that the delivery is still worked on. */
  const runWithHeartbeat = async (state: SagaState, event: StepRequestedEvent, delivery: Delivery): Promise<StepOutcome> => {
    const definition = o.definitions.get(state.name);
    if (definition === undefined) return { kind: "failed", error: { code: "failed_precondition", reason: "saga_unknown", message: `this coordinator has no saga named ${state.name}` } };
    let inputs: JsonObject;
    try {
      inputs = stepInputs(definition, state, event);
    } catch (err) {
      return { kind: "failed", error: { code: "invalid_argument", reason: "step_inputs_failed", message: `building the inputs of ${state.steps[event.step]!.name} failed: ${(err as Error).message}` } };
    }
    const action = state.steps[event.step]![event.phase];
    return withHeartbeat(delivery, () => o.runStep({ sagaId: state.sagaId, taskId: action.taskId, intent: action.intent, inputs }, stopping.signal));
  };

  const handle = async (delivery: Delivery): Promise<void> => {
    let event: SagaEvent;
    try {
      event = decodeSagaEvent(delivery.data);
    } catch (err) {
      if (err instanceof MalformedSagaEventError) return delivery.term(err.message);
      throw err;
    }
    try {
      if (event.kind === "step.requested") await runRequested(event, delivery);
      else {
        await apply(event);
        await delivery.ack();
      }
    } catch (err) {
      if (err instanceof SagaNotFoundError) return delivery.term(err.message);
      if (stopping.signal.aborted) return delivery.nak("the coordinator stopped while it handled the event", 0);
      throw err;
    }
  };

  const consumer: QueueConsumer = o.queue.consume(sagaEventsSubject, handle, { maxInFlight: o.maxInFlight ?? 16 });
  return {
    async resume() {
      let count = 0;
      // A saga whose event was dead-lettered would wait forever: the queue keeps the dedup
      // record of the dead letter, so its event is published again under an id with the
      // state's revision (applying an event twice changes nothing).
      const deadSagas = new Set((await o.queue.deadLetters(sagaEventsSubject)).map((d) => d.headers["saga-id"]));
      for (const id of await o.store.list()) {
        const saga = await o.store.get(id);
        if (saga === undefined) continue;
        const events = saga.state.status === "running" && saga.state.steps[0]?.do.state === "pending" ? [{ kind: "saga.started", sagaId: id } as const] : awaitedEvents(saga.state);
        const suffix = deadSagas.has(id) ? `r${saga.revision}` : undefined;
        for (const e of events) await publishSagaEvent(o.queue, e, suffix);
        if (events.length > 0) count++;
      }
      return count;
    },
    async stop() {
      stopping.abort(new Error("the saga coordinator is stopping"));
      await consumer.stop();
    },
  };
}

/** The inputs of the requested delegation, from the saga's input and the outputs of its completed steps. */
export function stepInputs(definition: SagaDefinition, state: SagaState, event: Pick<StepRequestedEvent, "step" | "phase">): JsonObject {
  const step = definition.steps[event.step];
  if (step === undefined) throw new Error(`the saga has no step ${event.step}`);
  const outputs: Record<string, JsonObject> = {};
  for (const s of state.steps) if (s.do.state === "completed") outputs[s.name] = s.do.outputs ?? {};
  const ctx = { input: state.input, outputs };
  return event.phase === "do" ? step.inputs(ctx) : step.compensation.inputs({ ...ctx, output: outputs[step.name] ?? {}, taskId: state.steps[event.step]!.do.taskId });
}

function stepIds(event: StepRequestedEvent): StepRequestedEvent {
  return { kind: "step.requested", sagaId: event.sagaId, step: event.step, phase: event.phase };
}

function plural(attempts: number): string {
  return `${attempts} attempt${attempts === 1 ? "" : "s"}`;
}

function exhausted(attempts: number, message: string): StepError {
  return { code: "unavailable", reason: "retries_exhausted", message: `gave up after ${attempts} attempts; the last failed with ${message}` };
}
