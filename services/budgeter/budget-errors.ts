/** A reservation larger than one reservation may be: a person must decide on such sums. */
export class ReservationOverCapError extends Error {
  override readonly name = "ReservationOverCapError";
  /** The same amount is refused again. */
  readonly nonRetryable = true;
  constructor(readonly amountMicros: number, readonly capMicros: number) {
    super(`a reservation of ${amountMicros} micros is over the cap of ${capMicros} micros per reservation`);
  }
}

/** The pool has less left than the reservation asks for. */
export class BudgetInsufficientError extends Error {
  override readonly name = "BudgetInsufficientError";
  /** Only a release elsewhere changes the answer; the saga does not wait for one. */
  readonly nonRetryable = true;
  constructor(readonly amountMicros: number, readonly remainingMicros: number) {
    super(`the budget has ${remainingMicros} micros left, less than the ${amountMicros} micros asked for`);
  }
}

/** A release of a reservation the ledger does not hold. */
export class ReservationNotFoundError extends Error {
  override readonly name = "ReservationNotFoundError";
  readonly nonRetryable = true;
  constructor(readonly reservationId: string) {
    super(`no reservation ${reservationId} on record`);
  }
}
