/**
 * What a decision means for the call (docs/policy-contract.md, "Rules for the
 * mesh"): run it, hold it for a human, or refuse it with the status the policy's
 * reasons name.
 */
import { Code } from "@connectrpc/connect";
import type { ConnectError } from "@connectrpc/connect";
import { meshError } from "../errors.js";
import type { ContractDecision, DecisionReason, PolicyUsage, ReasonStatus } from "./policy-contract.js";

/** What the policy step does with a decision. */
export type DecisionOutcome = "allow" | "approval" | "deny";

/**
 * `allow` when the decision admits the call; `approval` when it asks for a human
 * and no reason refuses outright (carries a status); `deny` otherwise.
 */
export function outcomeOf(d: ContractDecision): DecisionOutcome {
  if (d.allow) return "allow";
  if (d.requires_approval && !d.reasons.some((r) => r.status !== undefined)) return "approval";
  return "deny";
}

const statusCodes: Record<ReasonStatus, Code> = {
  PERMISSION_DENIED: Code.PermissionDenied,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  RESOURCE_EXHAUSTED: Code.ResourceExhausted,
  INVALID_ARGUMENT: Code.InvalidArgument,
};

/** Facts about caller × intent's window, for a `quota_exceeded` refusal. */
export interface QuotaFacts {
  readonly usage: PolicyUsage;
  /** Time until the window ends. */
  readonly retryAfterMs: number;
}

/**
 * The error a denying decision refuses the call with. The reason that decides is
 * the first one carrying a status (the first reason when none does): its status
 * is the code (PERMISSION_DENIED when it names none) and its code the detail's
 * `reason`; `policy_reasons` lists every reason and the message joins their
 * messages. A `quota_exceeded` refusal adds metadata `limit` (with `limit_kind`,
 * "calls" or "spend_micros"), `window_seconds` and `retry_after_ms`.
 */
export function policyRefusal(d: ContractDecision, quota: QuotaFacts): ConnectError {
  const deciding: DecisionReason | undefined = d.reasons.find((r) => r.status !== undefined) ?? d.reasons[0];
  const code = deciding?.status === undefined ? Code.PermissionDenied : statusCodes[deciding.status];
  const message = d.reasons.length === 0 ? "the policy refused this call" : d.reasons.map((r) => r.message).join("; ");
  const policyReasons = d.reasons.map((r) => ({ code: r.code, message: r.message }));
  const reason = deciding?.code ?? "policy_denied";
  if (reason !== "quota_exceeded") return meshError(code, message, { reason, policyReasons });
  return meshError(code, message, { reason, policyReasons, metadata: quotaMetadata(d, quota) });
}

function quotaMetadata(d: ContractDecision, { usage, retryAfterMs }: QuotaFacts): Record<string, string> {
  const metadata: Record<string, string> = {
    window_seconds: String(d.quota?.window_seconds ?? usage.window_seconds),
    retry_after_ms: String(Math.max(0, retryAfterMs)),
  };
  const calls = d.quota?.max_calls;
  const spend = d.quota?.max_spend_micros;
  // The limit that was reached; the one the quota names when the counters show neither.
  if (calls !== undefined && (usage.calls >= calls || spend === undefined || usage.spend_micros < spend)) {
    return { limit: String(calls), limit_kind: "calls", ...metadata };
  }
  if (spend !== undefined) return { limit: String(spend), limit_kind: "spend_micros", ...metadata };
  return metadata;
}
