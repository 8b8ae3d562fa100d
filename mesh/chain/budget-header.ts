/**
 * The `agentmesh-budget` request header: the budget a caller says is left for a
 * sub-delegation, after what its task already spent. It can only lower a budget:
 * the mesh takes the smaller of it and what the signed chain allows, so a caller
 * that sends more, or nothing, gets no more than the chain gives it.
 *
 * Form: `money_micros=<int>,tokens=<int>`, either part left out when unlimited,
 * e.g. `money_micros=1500` or `money_micros=-20,tokens=800`.
 */
import { Code } from "@connectrpc/connect";
import { meshError } from "../errors.js";
import { unlimitedBudget } from "./delegation-chain.js";
import type { Budget } from "./delegation-chain.js";

/** The request header with the budget the caller has left for a sub-delegation. */
export const budgetHeader = "agentmesh-budget";

/** The header value for `budget`; undefined when it sets no limit (send no header). */
export function formatBudget(budget: Budget): string | undefined {
  const parts: string[] = [];
  if (budget.moneyMicros !== undefined) parts.push(`money_micros=${budget.moneyMicros}`);
  if (budget.tokens !== undefined) parts.push(`tokens=${budget.tokens}`);
  return parts.length === 0 ? undefined : parts.join(",");
}

/**
 * Reads the header; an absent or empty header sets no limit.
 * Throws INVALID_ARGUMENT (reason `budget_malformed`) for anything else than the
 * documented form.
 */
export function parseBudget(value: string | null): Budget {
  if (value === null || value.trim() === "") return unlimitedBudget;
  const found = new Map<string, bigint>();
  for (const part of value.split(",")) {
    const m = /^\s*(money_micros|tokens)\s*=\s*(-?\d{1,19})\s*$/.exec(part);
    if (m === null || found.has(m[1]!)) {
      throw meshError(Code.InvalidArgument, `malformed ${budgetHeader} header: expected money_micros=<integer>,tokens=<integer>`, { reason: "budget_malformed" });
    }
    found.set(m[1]!, BigInt(m[2]!));
  }
  return { moneyMicros: found.get("money_micros"), tokens: found.get("tokens") };
}
