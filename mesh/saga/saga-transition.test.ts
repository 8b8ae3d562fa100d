import { describe, expect, it } from "vitest";
import { defineSaga } from "./saga-definition.js";
import type { SagaDefinition } from "./saga-definition.js";
import type { SagaEvent } from "./saga-events.js";
import { newSagaState } from "./saga-state.js";
import type { SagaPhase, SagaState } from "./saga-state.js";
import { applySagaEvent, awaitedEvents, recordStepAttempt, recordStepCheck } from "./saga-transition.js";
import { stepInputs } from "./saga-coordinator.js";
import { tripSaga } from "./trip-saga.fixture.js";

const definition: SagaDefinition = tripSaga;

const at = "2026-01-01T00:00:00.000Z";
const started = (): SagaState => newSagaState(definition, "s1", { city: "Oslo" }, "operator", at, "n0");
const completed = (step: number, phase: SagaPhase = "do"): SagaEvent => ({ kind: "step.completed", sagaId: "s1", step, phase, agent: "agent", outputs: { booking: `b${step}` }, attempts: 1 });
const failed = (step: number, phase: SagaPhase = "do"): SagaEvent => ({ kind: "step.failed", sagaId: "s1", step, phase, attempts: 2, error: { code: "failed_precondition", reason: "sold_out", message: "sold out" } });
const requested = (step: number, phase: SagaPhase): SagaEvent => ({ kind: "step.requested", sagaId: "s1", step, phase });

/** Applies each event in turn, checking each is applied and asks for the given next events. */
function run(state: SagaState, steps: [SagaEvent, SagaEvent[]][]): SagaState {
  for (const [event, next] of steps) {
    const t = applySagaEvent(state, event, at);
    expect([t.changed, t.next]).toEqual([true, next]);
    state = t.state;
  }
  return state;
}

const trailOf = (state: SagaState) => state.trail.map((e) => `${e.event}${e.step === undefined ? "" : ` ${e.step}`}`);

describe("applySagaEvent", () => {
  it("runs the steps in order and completes", () => {
    const end = run(started(), [
      [{ kind: "saga.started", sagaId: "s1" }, [requested(0, "do")]],
      [completed(0), [requested(1, "do")]],
      [completed(1), [requested(2, "do")]],
      [completed(2), []],
    ]);
    expect(end.status).toBe("completed");
    expect(end.steps.map((s) => [s.do.state, s.undo.state, s.do.outputs])).toEqual([
      ["completed", "pending", { booking: "b0" }], ["completed", "pending", { booking: "b1" }], ["completed", "pending", { booking: "b2" }],
    ]);
    expect(trailOf(end)).toEqual([
      "saga.started", "step.requested flight", "step.completed flight", "step.requested hotel", "step.completed hotel",
      "step.requested car", "step.completed car", "saga.completed",
    ]);
    expect(end.trail.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("compensates the completed steps in reverse order, each once, when the last step fails", () => {
    const end = run(started(), [
      [{ kind: "saga.started", sagaId: "s1" }, [requested(0, "do")]],
      [completed(0), [requested(1, "do")]],
      [completed(1), [requested(2, "do")]],
      [failed(2), [requested(1, "undo")]],
      [completed(1, "undo"), [requested(0, "undo")]],
      [completed(0, "undo"), []],
    ]);
    expect(end.status).toBe("compensated");
    expect(end.steps.map((s) => [s.name, s.do.state, s.undo.state])).toEqual([["flight", "completed", "completed"], ["hotel", "completed", "completed"], ["car", "failed", "pending"]]);
    expect(end.steps[2]!.do.error).toEqual({ code: "failed_precondition", reason: "sold_out", message: "sold out" });
    expect(trailOf(end).slice(6)).toEqual([
      "step.failed car", "compensation.requested hotel", "compensation.completed hotel", "compensation.requested flight", "compensation.completed flight", "saga.compensated",
    ]);
    expect(end.trail.at(-1)!.detail).toBe("2 completed steps compensated");
    expect(end.trail[6]!.detail).toBe("car.book failed for good after 2 attempts: failed_precondition (sold_out): sold out");
  });

  it("ends compensated with nothing to undo when the first step fails", () => {
    const end = run(started(), [[{ kind: "saga.started", sagaId: "s1" }, [requested(0, "do")]], [failed(0), []]]);
    expect([end.status, trailOf(end)]).toEqual(["compensated", ["saga.started", "step.requested flight", "step.failed flight", "saga.compensated"]]);
  });

  it("goes on with the other compensations when one fails for good, and ends failed", () => {
    const end = run(started(), [
      [{ kind: "saga.started", sagaId: "s1" }, [requested(0, "do")]],
      [completed(0), [requested(1, "do")]],
      [completed(1), [requested(2, "do")]],
      [failed(2), [requested(1, "undo")]],
      [failed(1, "undo"), [requested(0, "undo")]],
      [completed(0, "undo"), []],
    ]);
    expect([end.status, end.trail.at(-1)]).toEqual(["failed", { seq: 12, at, event: "saga.failed", detail: "compensation failed for hotel: a person must settle what is left" }]);
  });

  it("changes nothing for an event applied before and asks again for what the state waits for", () => {
    const s = run(started(), [[{ kind: "saga.started", sagaId: "s1" }, [requested(0, "do")]], [completed(0), [requested(1, "do")]]]);
    for (const again of [completed(0), { kind: "saga.started", sagaId: "s1" } as const, failed(0), requested(1, "do")]) {
      expect(applySagaEvent(s, again, at)).toEqual({ state: s, changed: false, next: [requested(1, "do")] });
    }
  });

  it("ignores events of steps that do not exist", () => {
    const s = run(started(), [[{ kind: "saga.started", sagaId: "s1" }, [requested(0, "do")]]]);
    expect(applySagaEvent(s, completed(7), at)).toEqual({ state: s, changed: false, next: [requested(0, "do")] });
  });

  it("asks for nothing once the saga ended", () => {
    const s = run(started(), [[{ kind: "saga.started", sagaId: "s1" }, [requested(0, "do")]], [failed(0), []]]);
    expect(awaitedEvents(s)).toEqual([]);
    expect(applySagaEvent(s, completed(0), at)).toEqual({ state: s, changed: false, next: [] });
  });
});

describe("recordStepAttempt", () => {
  const running = () => run(started(), [[{ kind: "saga.started", sagaId: "s1" }, [requested(0, "do")]]]);

  it("trails each new delivery of a running step once", () => {
    const first = recordStepAttempt(running(), 0, "do", 1, at)!;
    expect(first.steps[0]!.do.attempts).toBe(1);
    expect(first.trail.at(-1)).toEqual({ seq: 3, at, event: "step.attempt", step: "flight", taskId: "s1.n0.flight.do", detail: "delegating flight.book" });
    const second = recordStepAttempt(first, 0, "do", 2, at, "unavailable: no worker")!;
    expect(second.trail.at(-1)!.detail).toBe("delegating flight.book again (attempt 2; last error: unavailable: no worker)");
    expect(recordStepAttempt(second, 0, "do", 2, at)).toBeUndefined();
  });

  it("refuses a step that is not running", () => {
    expect(recordStepAttempt(running(), 1, "do", 1, at)).toBeUndefined();
    expect(recordStepAttempt(running(), 0, "undo", 1, at)).toBeUndefined();
  });
});

describe("recordStepCheck", () => {
  const running = () => run(started(), [[{ kind: "saga.started", sagaId: "s1" }, [requested(0, "do")]]]);

  it("takes on the next re-check once, keeps a redelivered one, and refuses stale ones; the state then waits for its last re-check", () => {
    const first = recordStepCheck(running(), 0, "do", 1)!;
    expect(first.steps[0]!.do.checks).toBe(1);
    expect(recordStepCheck(first, 0, "do", 1)).toBe(first);
    expect(recordStepCheck(first, 0, "do", 3)).toBeUndefined();
    const second = recordStepCheck(first, 0, "do", 2)!;
    expect(recordStepCheck(second, 0, "do", 1)).toBeUndefined();
    expect(recordStepCheck(second, 1, "do", 1)).toBeUndefined();
    expect(awaitedEvents(second)).toEqual([{ ...requested(0, "do"), check: 2 }]);
  });
});

describe("stepInputs", () => {
  it("builds a step's inputs from the saga input and earlier outputs, and a compensation's from its step's outputs", () => {
    const s = run(started(), [[{ kind: "saga.started", sagaId: "s1" }, [requested(0, "do")]], [completed(0), [requested(1, "do")]]]);
    expect(stepInputs(definition, s, { step: 1, phase: "do" })).toEqual({ city: "Oslo", before: ["flight"] });
    expect(stepInputs(definition, s, { step: 0, phase: "undo" })).toEqual({ booking: "b0" });
  });
});

describe("defineSaga", () => {
  it.each([
    ["a bad name", { ...definition, name: "Trip" }, 'saga name "Trip" must match ^[a-z][a-z0-9-]{0,62}$'],
    ["no steps", { ...definition, steps: [] }, "saga trip has no steps"],
    ["two steps with one name", { ...definition, steps: [definition.steps[0]!, definition.steps[0]!] }, "saga trip: two steps are named flight"],
  ])("refuses %s", (_name, bad, message) => {
    expect(() => defineSaga(bad)).toThrow(new TypeError(message));
  });
});
