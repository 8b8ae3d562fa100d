/** The request metadata one mesh hop sends to the next. */
import { chainHeader, encodeChain } from "../chain/delegation-chain.js";
import type { DelegationChain } from "../chain/delegation-chain.js";
import { formatTraceparent } from "../trace/trace-context.js";
import type { TraceContext } from "../trace/trace-context.js";

/** Builds the headers of an outgoing hop: bearer token, chain and trace context. */
export function hopMetadata(token: string, chain: DelegationChain | undefined, trace: TraceContext | undefined): Record<string, string> {
  const md: Record<string, string> = { authorization: `Bearer ${token}` };
  if (chain !== undefined && (chain.hops.length > 0 || chain.budget.moneyMicros !== undefined || chain.budget.tokens !== undefined)) {
    md[chainHeader] = encodeChain(chain);
  }
  if (trace !== undefined) md["traceparent"] = formatTraceparent(trace);
  return md;
}
