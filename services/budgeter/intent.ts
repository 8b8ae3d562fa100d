// The `budget.reserve` and `budget.release` contracts. A reservation earmarks part
// of the marketing budget for one campaign; it is idempotent per task id (its id
// is derived from the task id) and undone by `budget.release`.

/** Intent that earmarks budget for a campaign. */
export const reserveBudgetIntent = "budget.reserve";
/** Intent that gives a reservation back (the compensation of `budget.reserve`). */
export const releaseBudgetIntent = "budget.release";

/** Inputs of `budget.reserve`. */
export interface ReserveBudgetInputs {
  campaign: string;
  /** Money to earmark, in micros of the budget's currency (1 unit = 1,000,000). */
  amountMicros: number;
}

/** Outputs of `budget.reserve`. */
export interface ReserveBudgetOutputs {
  reservationId: string;
  amountMicros: number;
  /** What the pool has left unreserved after this reservation. */
  remainingMicros: number;
  /** True when this task had reserved it before (nothing new was reserved). */
  alreadyReserved: boolean;
}

/** Inputs of `budget.release`. */
export interface ReleaseBudgetInputs {
  reservationId: string;
}

/** Outputs of `budget.release`. */
export interface ReleaseBudgetOutputs {
  reservationId: string;
  releasedMicros: number;
  /** True when it had been released before (nothing new was released). */
  alreadyReleased: boolean;
}

const reservationId = { type: "string", pattern: "^res-[A-Za-z0-9._-]{1,200}$", maxLength: 204 };
const micros = { type: "integer", minimum: 1, maximum: 1_000_000_000_000_000 };

/** JSON Schema of {@link ReserveBudgetInputs}. */
export const reserveBudgetInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "budget.reserve inputs",
  type: "object",
  additionalProperties: false,
  required: ["campaign", "amountMicros"],
  properties: { campaign: { type: "string", minLength: 1, maxLength: 120 }, amountMicros: micros },
};

/** JSON Schema of {@link ReserveBudgetOutputs}. */
export const reserveBudgetOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "budget.reserve outputs",
  type: "object",
  additionalProperties: false,
  required: ["reservationId", "amountMicros", "remainingMicros", "alreadyReserved"],
  properties: { reservationId, amountMicros: micros, remainingMicros: { type: "integer", minimum: 0 }, alreadyReserved: { type: "boolean" } },
};

/** JSON Schema of {@link ReleaseBudgetInputs}. */
export const releaseBudgetInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "budget.release inputs",
  type: "object",
  additionalProperties: false,
  required: ["reservationId"],
  properties: { reservationId },
};

/** JSON Schema of {@link ReleaseBudgetOutputs}. */
export const releaseBudgetOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "budget.release outputs",
  type: "object",
  additionalProperties: false,
  required: ["reservationId", "releasedMicros", "alreadyReleased"],
  properties: { reservationId, releasedMicros: micros, alreadyReleased: { type: "boolean" } },
};
