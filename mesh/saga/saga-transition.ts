/**
 * The saga state machine, pure: applying an event to a state gives the new state
 * and the events to publish next. Applying an event twice (a redelivery, a
 * second coordinator) changes nothing the second time and gives again the event
 * the state waits for, so a coordinator that stopped between writing the state
 * and publishing the next event publishes it on the redelivery.
 *
 *   started ─▶ step 0 requested ─▶ completed ─▶ step 1 requested ─▶ … ─▶ completed
 *                                  failed ─▶ compensating: undo of the completed
 *                                            steps (and of the failed one when its outcome
 *                                            is unknown), last first, each once ─▶ compensated
 *                                            (failed when an undo failed for good)
 */
import type { SagaEvent, StepCompletedEvent, StepFailedEvent } from "./saga-events.js";
import type { SagaAction, SagaPhase, SagaState, SagaStepState, TrailEntry } from "./saga-state.js";

/** The outcome of `applySagaEvent`. */
export interface SagaTransition {
  readonly state: SagaState;
  /** False when the event was already applied (or is stale): `state` is the input. */
  readonly changed: boolean;
  /** Events to publish now. */
  readonly next: readonly SagaEvent[];
}

/**
 * Applies `event` to `state` at time `now` (ISO 8601). A `step.requested` event
 * changes nothing here (the coordinator delegates it; see `recordStepAttempt`).
 */
export function applySagaEvent(state: SagaState, event: SagaEvent, now: string): SagaTransition {
  const unchanged = (): SagaTransition => ({ state, changed: false, next: awaitedEvents(state) });
  switch (event.kind) {
    case "saga.started": {
      if (state.status !== "running" || state.steps[0]?.do.state !== "pending") return unchanged();
      return forward(begin(state, 0, "do", now));
    }
    case "step.requested":
      return unchanged();
    case "step.completed":
    case "step.failed": {
      const step = state.steps[event.step];
      if (step === undefined || step[event.phase].state !== "running") return unchanged();
      const ended = settle(state, event, now);
      if (event.phase === "undo") return compensateNext(ended, event.step, now);
      // A step whose outcome is unknown may have taken effect: its own undo runs first.
      if (event.kind === "step.failed") return compensateNext(withStatus(ended, "compensating", now), event.uncertain === true ? event.step + 1 : event.step, now);
      return event.step + 1 < state.steps.length ? forward(begin(ended, event.step + 1, "do", now)) : finish(ended, "completed", "every step completed", now);
    }
  }
}

/**
 * Records that delivery `attempt` of the request for `step` in `phase` started;
 * undefined when the state already knows of it or the delegation is not running
 * (a stale request: nothing to do).
 */
export function recordStepAttempt(state: SagaState, step: number, phase: SagaPhase, attempt: number, now: string, lastError?: string): SagaState | undefined {
  const current = state.steps[step];
  if (current === undefined || current[phase].state !== "running" || current[phase].attempts >= attempt) return undefined;
  const action = current[phase];
  const detail = attempt === 1 ? `delegating ${action.intent}` : `delegating ${action.intent} again (attempt ${attempt}${lastError === undefined ? "" : `; last error: ${lastError}`})`;
  const next = replaceAction(state, step, phase, { ...action, attempts: attempt });
  return trail(next, { event: `${eventPrefix(phase)}.attempt`, step: current.name, taskId: action.taskId, detail }, now);
}

/**
 * Records that re-check `check` of `step` in `phase` is taken on. Undefined when
 * it is stale (the step is not running, or a later re-check was taken on); the
 * state unchanged when this re-check was taken on before (a redelivery).
 */
export function recordStepCheck(state: SagaState, step: number, phase: SagaPhase, check: number): SagaState | undefined {
  const action = state.steps[step]?.[phase];
  if (action === undefined || action.state !== "running") return undefined;
  const taken = action.checks ?? 0;
  if (check === taken) return state;
  return check === taken + 1 ? replaceAction(state, step, phase, { ...action, checks: check }) : undefined;
}

/** The event a state waits for: the request (or the last re-check) of the delegation that runs now; none when it is terminal. */
export function awaitedEvents(state: SagaState): SagaEvent[] {
  const phase: SagaPhase | undefined = state.status === "running" ? "do" : state.status === "compensating" ? "undo" : undefined;
  if (phase === undefined) return [];
  const step = state.steps.findIndex((s) => s[phase].state === "running");
  if (step < 0) return [];
  const checks = state.steps[step]![phase].checks;
  return [{ kind: "step.requested", sagaId: state.sagaId, step, phase, ...(checks === undefined ? {} : { check: checks }) }];
}

function forward(state: SagaState): SagaTransition {
  return { state, changed: true, next: awaitedEvents(state) };
}

/** Marks `step` in `phase` as running and trails the request. */
function begin(state: SagaState, step: number, phase: SagaPhase, now: string): SagaState {
  const s = state.steps[step]!;
  const next = replaceAction(state, step, phase, { ...s[phase], state: "running" });
  return trail(next, { event: `${eventPrefix(phase)}.requested`, step: s.name, taskId: s[phase].taskId, detail: `requested ${s[phase].intent}` }, now);
}

/** Records the outcome of a delegation. */
function settle(state: SagaState, event: StepCompletedEvent | StepFailedEvent, now: string): SagaState {
  const s = state.steps[event.step]!;
  const action = s[event.phase];
  const uncertain = event.kind === "step.failed" && event.uncertain === true && event.phase === "do";
  // The undo of a step whose outcome was unknown finds nothing: the step never took effect.
  const nothingToUndo = event.kind === "step.failed" && event.phase === "undo" && s.do.uncertain === true && event.error.code === "not_found";
  const ended: SagaAction = event.kind === "step.completed"
    ? { ...action, state: "completed", attempts: event.attempts, agent: event.agent, outputs: event.outputs }
    : nothingToUndo
      ? { ...action, state: "completed", attempts: event.attempts }
      : { ...action, state: "failed", attempts: event.attempts, error: event.error, ...(uncertain ? { uncertain } : {}) };
  const detail = event.kind === "step.completed"
    ? `${action.intent} completed by ${event.agent} after ${plural(event.attempts, "attempt")}`
    : nothingToUndo
      ? `${action.intent} found nothing to undo (${event.error.reason === "" ? event.error.code : event.error.reason}): ${s.name} never took effect`
      : `${action.intent} failed for good after ${plural(event.attempts, "attempt")}: ${event.error.code}${event.error.reason === "" ? "" : ` (${event.error.reason})`}: ${event.error.message}${uncertain ? "; its outcome is unknown, so it was canceled and is compensated too" : ""}`;
  const kind = ended.state === "completed" ? "completed" : "failed";
  return trail(replaceAction(state, event.step, event.phase, ended), { event: `${eventPrefix(event.phase)}.${kind}`, step: s.name, taskId: action.taskId, detail }, now);
}

/** Requests the undo of the last completed step before `below`, or ends the saga when there is none. */
function compensateNext(state: SagaState, below: number, now: string): SagaTransition {
  for (let i = below - 1; i >= 0; i--) {
    const s = state.steps[i]!;
    if ((s.do.state === "completed" || s.do.uncertain === true) && s.undo.state === "pending") return forward(begin(state, i, "undo", now));
  }
  const failed = state.steps.filter((s) => s.undo.state === "failed").map((s) => s.name);
  const undone = state.steps.filter((s) => s.undo.state === "completed").length;
  return failed.length > 0
    ? finish(state, "failed", `compensation failed for ${failed.join(", ")}: a person must settle what is left`, now)
    : finish(state, "compensated", `${plural(undone, "completed step")} compensated`, now);
}

function finish(state: SagaState, status: "completed" | "compensated" | "failed", detail: string, now: string): SagaTransition {
  return { state: trail(withStatus(state, status, now), { event: `saga.${status}`, detail }, now), changed: true, next: [] };
}

function withStatus(state: SagaState, status: SagaState["status"], now: string): SagaState {
  return { ...state, status, updatedAt: now };
}

function replaceAction(state: SagaState, step: number, phase: SagaPhase, action: SagaAction): SagaState {
  const steps: SagaStepState[] = state.steps.map((s, i) => (i === step ? { ...s, [phase]: action } : s));
  return { ...state, steps };
}

function trail(state: SagaState, entry: Omit<TrailEntry, "seq" | "at">, now: string): SagaState {
  return { ...state, updatedAt: now, trail: [...state.trail, { seq: state.trail.length + 1, at: now, ...entry }] };
}

function eventPrefix(phase: SagaPhase): "step" | "compensation" {
  return phase === "do" ? "step" : "compensation";
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
