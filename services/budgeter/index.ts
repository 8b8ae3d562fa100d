// Public API of the budgeter worker: the `budget.reserve` / `budget.release` contracts and the book behind them.
export { createBudgetBook, type BudgetBook, type BudgetLimits } from "./budget-book.js";
export { BudgetInsufficientError, ReservationNotFoundError, ReservationOverCapError } from "./budget-errors.js";
export {
  releaseBudgetIntent,
  reserveBudgetIntent,
  releaseBudgetInputSchema,
  releaseBudgetOutputSchema,
  reserveBudgetInputSchema,
  reserveBudgetOutputSchema,
  type ReleaseBudgetInputs,
  type ReleaseBudgetOutputs,
  type ReserveBudgetInputs,
  type ReserveBudgetOutputs,
} from "./intent.js";
