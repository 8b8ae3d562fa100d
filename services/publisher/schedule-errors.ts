/** The calendar slot is booked by another schedule: a channel publishes one thing per slot. */
export class SlotTakenError extends Error {
  override readonly name = "SlotTakenError";
  /** The slot stays booked; choose another time. */
  readonly nonRetryable = true;
  constructor(readonly slot: string, readonly heldBy: string) {
    super(`calendar slot ${slot} is already booked by ${heldBy}`);
  }
}

/** An unschedule of a schedule the calendar does not hold. */
export class ScheduleNotFoundError extends Error {
  override readonly name = "ScheduleNotFoundError";
  readonly nonRetryable = true;
  constructor(readonly scheduleId: string, readonly slot: string) {
    super(`calendar slot ${slot} holds no schedule ${scheduleId}`);
  }
}
