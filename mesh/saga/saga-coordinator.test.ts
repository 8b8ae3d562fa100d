/**
 * The coordinator on the real embedded queue backend (files in a temporary
 * folder). The gateway is stood in for by a scripted step runner, which records
 * each delegation it is asked for and answers what the script says.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { openEmbeddedBackend } from "../queue/embedded/embedded-backend.js";
import type { QueueBackend } from "../queue/queue-types.js";
import { publishSagaEvent, startSagaCoordinator } from "./saga-coordinator.js";
import type { SagaCoordinator } from "./saga-coordinator.js";
import { newSagaState } from "./saga-state.js";
import type { SagaState } from "./saga-state.js";
import { createSagaStore } from "./saga-store.js";
import { SagaIdTooLongError, startSaga } from "./start-saga.js";
import type { StepCanceller, StepOutcome, StepRunner } from "./step-runner.js";
import { tripSaga } from "./trip-saga.fixture.js";

const saga = tripSaga;

/** A task id without its saga's nonce (`<saga id>.<step>.<phase>`), which the scripts and expectations use. */
const plain = (taskId: string) => taskId.split(".").filter((_, i) => i !== 1).join(".");

/**
 * A step runner standing in for the gateway: `script(taskId, call)` answers the
 * call-th delegation of a task (1, 2, ...); task ids are recorded and scripted without their nonce.
 */
function scriptedRunner(script: (taskId: string, call: number) => StepOutcome): { runStep: StepRunner; calls: string[]; nonced: string[] } {
  const calls: string[] = [];
  const nonced: string[] = [];
  return {
    calls,
    nonced,
    runStep: (d) => {
      const id = plain(d.taskId);
      calls.push(id);
      nonced.push(d.taskId);
      return Promise.resolve(script(id, calls.filter((t) => t === id).length));
    },
  };
}

const done = (taskId: string): StepOutcome => ({ kind: "completed", agent: "agent", outputs: { booking: taskId } });

let dir: string;
const backends: QueueBackend[] = [];
const coordinators: SagaCoordinator[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "saga-coordinator-"));
});
afterEach(async () => {
  for (const c of coordinators.splice(0)) await c.stop();
  for (const b of backends.splice(0)) await b.close();
  await rm(dir, { recursive: true, force: true });
});

/** Opens the backend in `dir` (as another process on the machine would) and starts a coordinator on it. */
/** A canceller standing in for the gateway: records each Cancel and answers how the task ended (canceled, by default). */
function scriptedCanceller(end: (taskId: string) => StepOutcome = () => canceled): { cancelStep: StepCanceller; cancels: string[] } {
  const cancels: string[] = [];
  return { cancels, cancelStep: (d) => (cancels.push(plain(d.taskId)), Promise.resolve(end(plain(d.taskId)))) };
}

const canceled: StepOutcome = { kind: "failed", error: { code: "canceled", reason: "canceled", message: "canceled by the saga" } };

async function coordinator(runStep: StepRunner, maxStepAttempts = 4, cancelStep: StepCanceller = scriptedCanceller().cancelStep, maxInFlight = 16) {
  const backend = await openEmbeddedBackend(dir, { ackWaitMs: 5_000, backoffMs: [20], maxDeliveries: 5, pollIntervalMs: 10 });
  backends.push(backend);
  const store = createSagaStore(backend.store);
  const c = startSagaCoordinator({
    queue: backend.queue, store, definitions: new Map([[saga.name, saga]]), runStep, cancelStep, logger: createLogger("test", "error"), maxStepAttempts, retryBackoffMs: [20], heartbeatMs: 1_000,
    recheckMs: 30, maxInFlight,
  });
  coordinators.push(c);
  return { backend, store, coordinator: c };
}

async function ended(read: () => Promise<SagaState | undefined>): Promise<SagaState> {
  for (const deadline = Date.now() + 15_000; ;) {
    const state = await read();
    if (state !== undefined && ["completed", "compensated", "failed"].includes(state.status)) return state;
    if (Date.now() > deadline) throw new Error(`saga did not end: ${JSON.stringify(state?.trail.map((e) => e.event))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("startSagaCoordinator", () => {
  it("delegates a step again with the same task id after a retryable failure, and completes", async () => {
    const runner = scriptedRunner((taskId, call) => (taskId === "t1.hotel.do" && call === 1 ? { kind: "retry", message: "unavailable: no worker" } : done(taskId)));
    const { backend, store } = await coordinator(runner.runStep);
    expect((await startSaga({ store, queue: backend.queue }, { definition: saga, sagaId: "t1", input: { city: "Oslo" }, startedBy: "alice" })).alreadyStarted).toBe(false);
    const state = await ended(async () => (await store.get("t1"))?.state);
    expect(state.status).toBe("completed");
    expect(runner.calls).toEqual(["t1.flight.do", "t1.hotel.do", "t1.hotel.do", "t1.car.do"]);
    expect(state.steps.map((s) => s.do.attempts)).toEqual([1, 2, 1]);
    expect(state.trail.filter((e) => e.step === "hotel").map((e) => e.detail)).toEqual([
      "requested hotel.book", "delegating hotel.book", "delegating hotel.book again (attempt 2; last error: unavailable: no worker)", "hotel.book completed by agent after 2 attempts",
    ]);
  });

  it("cancels a step out of attempts, then undoes it and the completed steps in reverse, each once", async () => {
    const runner = scriptedRunner((taskId) => (taskId === "t2.car.do" ? { kind: "retry", message: "deadline_exceeded: the step took too long" } : done(taskId)));
    const canceller = scriptedCanceller();
    const { backend, store } = await coordinator(runner.runStep, 3, canceller.cancelStep);
    await startSaga({ store, queue: backend.queue }, { definition: saga, sagaId: "t2", input: { city: "Oslo" }, startedBy: "alice" });
    const state = await ended(async () => (await store.get("t2"))?.state);
    expect(state.status).toBe("compensated");
    expect(canceller.cancels).toEqual(["t2.car.do"]);
    // The car may have been booked before the Cancel stopped it: its undo runs first, from its task id.
    expect(runner.calls).toEqual(["t2.flight.do", "t2.hotel.do", "t2.car.do", "t2.car.do", "t2.car.do", "t2.car.undo", "t2.hotel.undo", "t2.flight.undo"]);
    expect(state.steps[2]!.do).toMatchObject({ state: "failed", uncertain: true, error: { code: "unavailable", reason: "retries_exhausted", message: "gave up after 3 attempts; the last failed with deadline_exceeded: the step took too long" } });
    expect(state.steps.map((s) => s.undo.state)).toEqual(["completed", "completed", "completed"]);
  });

  it("records a step out of attempts as completed when its task completed before the Cancel reached it", async () => {
    const runner = scriptedRunner((taskId) => (taskId === "t3.hotel.do" ? { kind: "retry", message: "unavailable: worker lost" } : done(taskId)));
    const canceller = scriptedCanceller((taskId) => done(taskId));
    const { backend, store } = await coordinator(runner.runStep, 2, canceller.cancelStep);
    await startSaga({ store, queue: backend.queue }, { definition: saga, sagaId: "t3", input: { city: "Oslo" }, startedBy: "alice" });
    const state = await ended(async () => (await store.get("t3"))?.state);
    expect([state.status, canceller.cancels]).toEqual(["completed", ["t3.hotel.do"]]);
    expect(runner.calls).toEqual(["t3.flight.do", "t3.hotel.do", "t3.hotel.do", "t3.car.do"]);
    expect(state.steps[1]!.do).toMatchObject({ state: "completed", outputs: { booking: "t3.hotel.do" } });
  });

  it("ends a step whose undo finds nothing after an unknown outcome as undone: the step never took effect", async () => {
    const runner = scriptedRunner((taskId) => (taskId === "t4.hotel.do" ? { kind: "retry", message: "unavailable: worker lost" }
      : taskId === "t4.hotel.undo" ? { kind: "failed", error: { code: "not_found", reason: "booking_not_found", message: "no booking" } } : done(taskId)));
    const { backend, store } = await coordinator(runner.runStep, 2);
    await startSaga({ store, queue: backend.queue }, { definition: saga, sagaId: "t4", input: { city: "Oslo" }, startedBy: "alice" });
    const state = await ended(async () => (await store.get("t4"))?.state);
    expect(state.status).toBe("compensated");
    expect(runner.calls).toEqual(["t4.flight.do", "t4.hotel.do", "t4.hotel.do", "t4.hotel.undo", "t4.flight.undo"]);
    expect(state.trail.find((e) => e.event === "compensation.completed" && e.step === "hotel")!.detail).toBe("hotel.cancel found nothing to undo (booking_not_found): hotel never took effect");
  });

  it("runs each delegation of many sagas once with two coordinators on one backend, and absorbs a repeated start", async () => {
    const runner = scriptedRunner((taskId) => done(taskId));
    const first = await coordinator(runner.runStep);
    const second = await coordinator(runner.runStep);
    const ids = ["m1", "m2", "m3", "m4", "m5", "m6"];
    await Promise.all(ids.map((id, i) => startSaga({ store: (i % 2 === 0 ? first : second).store, queue: (i % 2 === 0 ? first : second).backend.queue }, { definition: saga, sagaId: id, input: { city: id }, startedBy: "alice" })));
    expect((await startSaga({ store: second.store, queue: second.backend.queue }, { definition: saga, sagaId: "m1", input: { city: "m1" }, startedBy: "alice" })).alreadyStarted).toBe(true);
    for (const id of ids) expect((await ended(async () => (await first.store.get(id))?.state)).status).toBe("completed");
    expect([...runner.calls].sort()).toEqual(ids.flatMap((id) => ["flight", "hotel", "car"].map((s) => `${id}.${s}.do`)).sort());
  });

  it("holds no delivery while steps wait for approval: other sagas go on, and the held ones complete after a restart", async () => {
    const held = new Set(["h1.flight.do", "h2.flight.do"]);
    const runner = scriptedRunner((taskId) => (held.has(taskId) ? { kind: "waiting", state: "awaiting_approval" } : done(taskId)));
    const first = await coordinator(runner.runStep, 4, undefined, 2);
    const parts = { store: first.store, queue: first.backend.queue };
    for (const id of ["h1", "h2"]) await startSaga(parts, { definition: saga, sagaId: id, input: { city: id }, startedBy: "alice" });
    await startSaga(parts, { definition: saga, sagaId: "free", input: { city: "Oslo" }, startedBy: "alice" });
    // Two held steps and two consumer slots: the third saga still gets through.
    expect((await ended(async () => (await first.store.get("free"))?.state)).status).toBe("completed");
    expect((await first.store.get("h1"))!.state.status).toBe("running");
    await first.coordinator.stop();
    const second = await coordinator(runner.runStep, 4, undefined, 2);
    held.clear();
    for (const id of ["h1", "h2"]) {
      const state = await ended(async () => (await second.store.get(id))?.state);
      expect(state.status).toBe("completed");
      // Looked at again and again, but one attempt: waiting is not failing.
      expect(runner.calls.filter((t) => t === `${id}.flight.do`).length).toBeGreaterThan(2);
      expect(state.steps[0]!.do.attempts).toBe(1);
      expect(state.trail.filter((e) => e.step === "flight").map((e) => e.event)).toEqual(["step.requested", "step.attempt", "step.completed"]);
    }
  });

  it("puts the saga's nonce, drawn when it starts and kept in its state, in every step's task id", async () => {
    const runner = scriptedRunner((taskId) => done(taskId));
    const { backend, store } = await coordinator(runner.runStep);
    const parts = { store, queue: backend.queue };
    const first = await startSaga(parts, { definition: saga, sagaId: "n1", input: { city: "Oslo" }, startedBy: "alice" });
    const nonce = first.state.nonce;
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect((await ended(async () => (await store.get("n1"))?.state)).status).toBe("completed");
    expect(runner.nonced).toEqual(["flight", "hotel", "car"].map((s) => `n1.${nonce}.${s}.do`));
    // A repeated start keeps the state, nonce and all; another saga draws its own.
    expect((await startSaga(parts, { definition: saga, sagaId: "n1", input: { city: "Oslo" }, startedBy: "alice" })).state.nonce).toBe(nonce);
    expect((await startSaga(parts, { definition: saga, sagaId: "n2", input: { city: "Oslo" }, startedBy: "alice" })).state.nonce).not.toBe(nonce);
  });

  it("resumes a saga whose event was dead-lettered: a restarted coordinator completes it", async () => {
    // The coordinator fails on the hotel step until the queue gives up on its event (5 deliveries).
    let failing = true;
    const runner = scriptedRunner((taskId) => {
      if (failing && taskId === "dl.hotel.do") throw new Error("the store is unreachable");
      return done(taskId);
    });
    const first = await coordinator(runner.runStep);
    await startSaga({ store: first.store, queue: first.backend.queue }, { definition: saga, sagaId: "dl", input: { city: "Oslo" }, startedBy: "alice" });
    for (const deadline = Date.now() + 15_000; (await first.backend.queue.deadLetters("saga.events")).length === 0;) {
      if (Date.now() > deadline) throw new Error("the hotel step's event was not dead-lettered");
      await new Promise((r) => setTimeout(r, 20));
    }
    await first.coordinator.stop();
    expect((await first.store.get("dl"))!.state.status).toBe("running");
    failing = false;
    const second = await coordinator(runner.runStep);
    expect(await second.coordinator.resume()).toBe(1);
    expect((await ended(async () => (await second.store.get("dl"))?.state)).status).toBe("completed");
    expect(runner.calls.filter((t) => t === "dl.hotel.do").length).toBe(6);
  });

  it("acks a stale step request (its step ended) without running it", async () => {
    const runner = scriptedRunner((taskId) => done(taskId));
    const { backend, store } = await coordinator(runner.runStep);
    await startSaga({ store, queue: backend.queue }, { definition: saga, sagaId: "st", input: { city: "Oslo" }, startedBy: "alice" });
    expect((await ended(async () => (await store.get("st"))?.state)).status).toBe("completed");
    const before = runner.calls.length;
    // A late copy of the first step's request, under an id the dedup does not know.
    await publishSagaEvent(backend.queue, { kind: "step.requested", sagaId: "st", step: 0, phase: "do" }, "late");
    for (const deadline = Date.now() + 10_000; (await backend.queue.depth("saga.events")) > 0;) {
      if (Date.now() > deadline) throw new Error("the stale request was not settled");
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(runner.calls.length).toBe(before);
    expect(await backend.queue.deadLetters("saga.events")).toEqual([]);
    expect((await store.get("st"))!.state.steps[0]!.do.attempts).toBe(1);
  });

  it("refuses a saga id so long that a step's task id would pass the mesh's 128 characters", async () => {
    const { backend, store } = await coordinator(scriptedRunner((taskId) => done(taskId)).runStep);
    const parts = { store, queue: backend.queue };
    // `<saga id>.<16-character nonce>.flight.undo`: 29 characters besides the saga id.
    await expect(startSaga(parts, { definition: saga, sagaId: "a".repeat(100), input: {}, startedBy: "alice" })).rejects.toThrow(new SagaIdTooLongError("a".repeat(100), 99));
    expect(await store.list()).toEqual([]);
    expect((await startSaga(parts, { definition: saga, sagaId: "a".repeat(99), input: {}, startedBy: "alice" })).alreadyStarted).toBe(false);
  });

  it("resumes a saga whose start event was lost, when it starts", async () => {
    const runner = scriptedRunner((taskId) => done(taskId));
    const backend = await openEmbeddedBackend(dir, { pollIntervalMs: 10 });
    backends.push(backend);
    const store = createSagaStore(backend.store);
    await store.create(newSagaState(saga, "lost", { city: "Oslo" }, "alice", new Date().toISOString()));
    const c = await coordinator(runner.runStep);
    expect(await c.coordinator.resume()).toBe(1);
    expect((await ended(async () => (await store.get("lost"))?.state)).status).toBe("completed");
    expect(await c.coordinator.resume()).toBe(0);
  });
});

describe("SagaStore.mutate", () => {
  it("loses no update of two writers that change one saga at the same time", async () => {
    const backend = await openEmbeddedBackend(dir, { pollIntervalMs: 10 });
    backends.push(backend);
    // Two stores over the one KV, as two coordinators would be.
    const writers = [createSagaStore(backend.store, 100), createSagaStore(backend.store, 100)];
    await writers[0]!.create(newSagaState(saga, "s1", { city: "Oslo" }, "alice", "2026-01-01T00:00:00.000Z"));
    const note = (who: number, n: number) => writers[who]!.mutate("s1", (current) => ({
      state: { ...current, trail: [...current.trail, { seq: current.trail.length + 1, at: current.updatedAt, event: "note", detail: `writer ${who} note ${n}` }] },
      result: undefined,
    }));
    // Each round reads the same revision twice before either writes: one of them must read again.
    for (let n = 0; n < 10; n++) await Promise.all([note(0, n), note(1, n)]);
    const { state } = (await writers[1]!.get("s1"))!;
    expect(state.trail.map((e) => e.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    for (let n = 0; n < 10; n++) for (const who of [0, 1]) expect(state.trail.filter((e) => e.detail === `writer ${who} note ${n}`).length).toBe(1);
  });
});
