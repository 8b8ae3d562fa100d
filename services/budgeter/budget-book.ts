/**
 * The budget's book: reservations and releases as effects in an effect ledger
 * (services/shared/effect-ledger.ts), so each is made once per task however often
 * the task runs. Calls are serialised within the process, so the pool check and
 * the reservation it admits cannot interleave; run one budgeter replica per
 * ledger directory.
 */
import type { ToolRunner } from "../../mesh/index.js";
import type { EffectLedger } from "../shared/effect-ledger.js";
import { BudgetInsufficientError, ReservationNotFoundError, ReservationOverCapError } from "./budget-errors.js";
import type { ReleaseBudgetOutputs, ReserveBudgetInputs, ReserveBudgetOutputs } from "./intent.js";

/** Limits of the book. */
export interface BudgetLimits {
  /** Everything that may be reserved at once, in micros. */
  readonly poolMicros: number;
  /** The most one reservation may earmark, in micros. */
  readonly capMicros: number;
}

/** The book's two operations. */
export interface BudgetBook {
  /**
   * Earmarks `inputs.amountMicros` for task `taskId` (reservation `res-<task id>`)
   * with the `ledger.write` tool; the same task again finds its reservation.
   * Throws `ReservationOverCapError` and `BudgetInsufficientError`.
   */
  reserve(inputs: ReserveBudgetInputs, taskId: string, tool: ToolRunner): Promise<ReserveBudgetOutputs>;
  /** Gives reservation `reservationId` back, once. Throws `ReservationNotFoundError`. */
  release(reservationId: string, taskId: string, tool: ToolRunner): Promise<ReleaseBudgetOutputs>;
}

interface Reservation extends Record<string, unknown> {
  readonly campaign: string;
  readonly amountMicros: number;
}

/** Creates the book over `ledger`. */
export function createBudgetBook(ledger: EffectLedger, limits: BudgetLimits): BudgetBook {
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  const reserved = async (): Promise<number> => {
    let total = 0;
    for (const key of await ledger.keys("res-")) {
      if ((await ledger.get(`release-${key}`)) !== undefined) continue;
      total += (await ledger.get<Reservation>(key))?.data.amountMicros ?? 0;
    }
    return total;
  };
  return {
    reserve: (inputs, taskId, tool) => serial(async () => {
      const reservationId = `res-${taskId}`;
      const before = await ledger.get<Reservation>(reservationId);
      // One pass over the ledger: reserve calls run one at a time, so the total only changes by this call's own effect.
      const total = await reserved();
      if (before === undefined) {
        if (inputs.amountMicros > limits.capMicros) throw new ReservationOverCapError(inputs.amountMicros, limits.capMicros);
        const left = limits.poolMicros - total;
        if (inputs.amountMicros > left) throw new BudgetInsufficientError(inputs.amountMicros, left);
      }
      const { applied, effect } = await tool("ledger.write", () =>
        ledger.apply<Reservation>({ kind: "budget.reserved", key: reservationId, taskId, data: { campaign: inputs.campaign, amountMicros: inputs.amountMicros } }));
      return { reservationId, amountMicros: effect.data.amountMicros, remainingMicros: limits.poolMicros - total - (applied ? effect.data.amountMicros : 0), alreadyReserved: !applied };
    }),
    release: (reservationId, taskId, tool) => serial(async () => {
      const reservation = await ledger.get<Reservation>(reservationId);
      if (reservation === undefined) throw new ReservationNotFoundError(reservationId);
      const { applied } = await tool("ledger.write", () =>
        ledger.apply({ kind: "budget.released", key: `release-${reservationId}`, taskId, data: { reservationId, amountMicros: reservation.data.amountMicros } }));
      return { reservationId, releasedMicros: reservation.data.amountMicros, alreadyReleased: !applied };
    }),
  };
}
