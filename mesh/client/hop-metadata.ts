/** The request metadata one mesh hop sends to the next. */
import { budgetHeader, formatBudget } from "../chain/budget-header.js";
import { chainHeader } from "../chain/delegation-chain.js";
import type { Budget } from "../chain/delegation-chain.js";
import { formatTraceparent } from "../trace/trace-context.js";
import type { TraceContext } from "../trace/trace-context.js";

/** What a sub-delegation says about its chain. */
export interface ChainMetadata {
  /** The gateway's hop token of the task it delegates from (the proof); none when that task did not come through the gateway. */
  readonly proof: string | undefined;
  /** The budget the delegating task has left, which can only lower what the proof allows. */
  readonly budget: Budget;
}

/**
 * Builds the headers of an outgoing hop: bearer token, chain proof and budget
 * left (`agentmesh-chain`, `agentmesh-budget`, each only when there is one), and
 * trace context.
 */
export function hopMetadata(token: string, chain: ChainMetadata | undefined, trace: TraceContext | undefined): Record<string, string> {
  const md: Record<string, string> = { authorization: `Bearer ${token}` };
  if (chain?.proof !== undefined) md[chainHeader] = chain.proof;
  const budget = chain === undefined ? undefined : formatBudget(chain.budget);
  if (budget !== undefined) md[budgetHeader] = budget;
  if (trace !== undefined) md["traceparent"] = formatTraceparent(trace);
  return md;
}
