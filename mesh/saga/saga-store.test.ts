/** SagaStore over the real embedded KV (files in a temporary folder). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openEmbeddedBackend } from "../queue/embedded/embedded-backend.js";
import type { QueueBackend } from "../queue/queue-types.js";
import { newSagaState } from "./saga-state.js";
import { createSagaStore } from "./saga-store.js";
import { tripSaga } from "./trip-saga.fixture.js";

let dir: string;
let backend: QueueBackend;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "saga-store-"));
  backend = await openEmbeddedBackend(dir, { pollIntervalMs: 10 });
});
afterEach(async () => {
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

describe("SagaStore.mutate", () => {
  it("loses no update of two writers that change one saga at the same time", async () => {
    // Two stores over the one KV, as two coordinators would be.
    const writers = [createSagaStore(backend.store, 100), createSagaStore(backend.store, 100)];
    await writers[0]!.create(newSagaState(tripSaga, "s1", { city: "Oslo" }, "alice", "2026-01-01T00:00:00.000Z"));
    const note = (who: number, n: number) => writers[who]!.mutate("s1", (current) => ({
      state: { ...current, trail: [...current.trail, { seq: current.trail.length + 1, at: current.updatedAt, event: "note", detail: `writer ${who} note ${n}` }] },
      result: undefined,
    }));
    // Each round reads the same revision twice before either writes: one of them must read again.
    for (let n = 0; n < 10; n++) await Promise.all([note(0, n), note(1, n)]);
    const { state } = (await writers[1]!.get("s1"))!;
    expect(state.trail.map((e) => e.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(state.trail.filter((e) => e.event === "note").length).toBe(20);
    for (let n = 0; n < 10; n++) for (const who of [0, 1]) expect(state.trail.some((e) => e.detail === `writer ${who} note ${n}`)).toBe(true);
  });
});
