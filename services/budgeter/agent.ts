/**
 * The budgeter agent: offers `budget.reserve` (mixed risk: autonomous within the
 * per-reservation cap while policy's flag `autonomous_budget_reservation` is on,
 * a human approval otherwise) and `budget.release`, its compensation.
 */
import { Code } from "@connectrpc/connect";
import { defineIntent, startAgent } from "../../mesh/index.js";
import type { RunningAgent } from "../../mesh/index.js";
import { withDomainErrors } from "../shared/domain-error.js";
import { openEffectLedger } from "../shared/effect-ledger.js";
import { tool } from "../shared/tools.js";
import { createBudgetBook } from "./budget-book.js";
import type { BudgetBook } from "./budget-book.js";
import { BudgetInsufficientError, ReservationNotFoundError, ReservationOverCapError } from "./budget-errors.js";
import type { BudgeterConfig } from "./config.js";
import {
  releaseBudgetInputSchema, releaseBudgetIntent, releaseBudgetOutputSchema, reserveBudgetInputSchema, reserveBudgetIntent, reserveBudgetOutputSchema,
} from "./intent.js";
import type { ReleaseBudgetInputs, ReleaseBudgetOutputs, ReserveBudgetInputs, ReserveBudgetOutputs } from "./intent.js";

/** The `budget.reserve` intent over `book`. */
export function reserveBudgetDefinition(book: BudgetBook) {
  return defineIntent<ReserveBudgetInputs, ReserveBudgetOutputs>({
    name: reserveBudgetIntent,
    description: "Earmarks budget for a campaign, once per task id, within the pool and the per-reservation cap.",
    inputSchema: reserveBudgetInputSchema,
    outputSchema: reserveBudgetOutputSchema,
    tools: ["ledger.write"],
    requiredScopes: ["budget:reserve"],
    handle: (inputs, ctx) =>
      withDomainErrors(async () => {
        const outputs = await book.reserve(inputs, ctx.taskId, ctx.tool);
        return {
          outputs,
          rationale: `${outputs.alreadyReserved ? "Found" : "Made"} reservation ${outputs.reservationId} of ${outputs.amountMicros} micros for campaign "${inputs.campaign}"; ${outputs.remainingMicros} micros stay unreserved.`,
          evidence: [{ kind: "ledger_entry", description: "Reservation on record", excerpt: outputs.reservationId }],
          confidence: 1,
        };
      }, [
        [ReservationOverCapError, Code.FailedPrecondition, "reservation_over_cap"],
        [BudgetInsufficientError, Code.FailedPrecondition, "budget_insufficient"],
      ]),
  });
}

/** The `budget.release` intent over `book`. */
export function releaseBudgetDefinition(book: BudgetBook) {
  return defineIntent<ReleaseBudgetInputs, ReleaseBudgetOutputs>({
    name: releaseBudgetIntent,
    description: "Gives a budget reservation back, once (the compensation of budget.reserve).",
    inputSchema: releaseBudgetInputSchema,
    outputSchema: releaseBudgetOutputSchema,
    tools: ["ledger.write"],
    requiredScopes: ["budget:release"],
    handle: (inputs, ctx) =>
      withDomainErrors(async () => {
        const outputs = await book.release(inputs.reservationId, ctx.taskId, ctx.tool);
        return {
          outputs,
          rationale: `${outputs.alreadyReleased ? "Found" : "Made"} the release of reservation ${outputs.reservationId} (${outputs.releasedMicros} micros).`,
          evidence: [{ kind: "ledger_entry", description: "Release on record", excerpt: `release-${outputs.reservationId}` }],
          confidence: 1,
        };
      }, [[ReservationNotFoundError, Code.NotFound, "reservation_not_found"]]),
  });
}

/** Starts the budgeter. */
export function startBudgeter(config: BudgeterConfig): Promise<RunningAgent> {
  const book = createBudgetBook(openEffectLedger(config.ledgerDir), config.limits);
  return startAgent({
    name: "budgeter",
    description: "Keeps the marketing budget: reservations per campaign and their release.",
    version: "0.1.0",
    role: "worker",
    intents: [reserveBudgetDefinition(book) as never, releaseBudgetDefinition(book) as never],
    tools: [tool("ledger.write", "Records a reservation or a release in the budget ledger, once per key.")],
    scopes: ["budget:reserve", "budget:release", "tool:ledger.write"],
    config,
  });
}
