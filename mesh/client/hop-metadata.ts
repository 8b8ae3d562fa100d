/** The request metadata one mesh hop sends to the next. */
import type { Context } from "@opentelemetry/api";
import { budgetHeader, formatBudget } from "../chain/budget-header.js";
import { chainHeader } from "../chain/delegation-chain.js";
import type { Budget } from "../chain/delegation-chain.js";
import { injectContext } from "../telemetry/propagation.js";

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
 * the W3C trace context and baggage of `trace` (`traceparent`, `tracestate`,
 * `baggage`), normally the hop's CLIENT span.
 */
export function hopMetadata(token: string, chain: ChainMetadata | undefined, trace: Context | undefined): Record<string, string> {
  const md: Record<string, string> = { authorization: `Bearer ${token}` };
  if (chain?.proof !== undefined) md[chainHeader] = chain.proof;
  const budget = chain === undefined ? undefined : formatBudget(chain.budget);
  if (budget !== undefined) md[budgetHeader] = budget;
  if (trace !== undefined) injectContext(trace, md);
  return md;
}
