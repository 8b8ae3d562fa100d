import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openEffectLedger } from "../shared/effect-ledger.js";
import { recordToolCalls } from "../shared/record-tool-calls.js";
import { createBudgetBook } from "./budget-book.js";
import { BudgetInsufficientError, ReservationNotFoundError, ReservationOverCapError } from "./budget-errors.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "budget-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("createBudgetBook", () => {
  it("reserves once per task and releases once per reservation, journaling each effect once", async () => {
    const ledger = openEffectLedger(dir);
    const book = createBudgetBook(ledger, { poolMicros: 100, capMicros: 60 });
    const record = recordToolCalls();
    expect(await book.reserve({ campaign: "spring", amountMicros: 40 }, "s1.reserve.do", record.tool)).toEqual({ reservationId: "res-s1.reserve.do", amountMicros: 40, remainingMicros: 60, alreadyReserved: false });
    expect(await book.reserve({ campaign: "spring", amountMicros: 40 }, "s1.reserve.do", record.tool)).toEqual({ reservationId: "res-s1.reserve.do", amountMicros: 40, remainingMicros: 60, alreadyReserved: true });
    expect(await book.release("res-s1.reserve.do", "s1.reserve.undo", record.tool)).toEqual({ reservationId: "res-s1.reserve.do", releasedMicros: 40, alreadyReleased: false });
    expect(await book.release("res-s1.reserve.do", "s1.reserve.undo", record.tool)).toEqual({ reservationId: "res-s1.reserve.do", releasedMicros: 40, alreadyReleased: true });
    expect((await ledger.journal()).map((e) => [e.kind, e.key, e.taskId])).toEqual([
      ["budget.reserved", "res-s1.reserve.do", "s1.reserve.do"],
      ["budget.released", "release-res-s1.reserve.do", "s1.reserve.undo"],
    ]);
    expect(record.calls).toEqual(["ledger.write", "ledger.write", "ledger.write", "ledger.write"]);
  });

  it("refuses a reservation over the cap or over what the pool has left, and the release of an unknown reservation", async () => {
    const book = createBudgetBook(openEffectLedger(dir), { poolMicros: 100, capMicros: 60 });
    const { tool } = recordToolCalls();
    await expect(book.reserve({ campaign: "big", amountMicros: 61 }, "t1", tool)).rejects.toThrow(new ReservationOverCapError(61, 60));
    await book.reserve({ campaign: "a", amountMicros: 60 }, "t2", tool);
    await expect(book.reserve({ campaign: "b", amountMicros: 41 }, "t3", tool)).rejects.toThrow(new BudgetInsufficientError(41, 40));
    await expect(book.release("res-t9", "t9.undo", tool)).rejects.toThrow(new ReservationNotFoundError("res-t9"));
  });
});
