/**
 * The policy contract in types (docs/policy-contract.md): the input the mesh gives
 * `data.agentmesh.decision` and the decision it gets back. The decision is checked
 * for shape here, once, so everything after the engine can trust it; anything else
 * is a policy bug and the call fails closed.
 */
import { PolicyEvaluationError } from "./policy-errors.js";

/** `input.caller`: the verified identity. */
export interface PolicyCaller {
  readonly subject: string;
  readonly role: string;
  /** Present when the gateway forwarded the caller. */
  readonly via?: string;
}

/** One delegating task on `input.chain.hops`. */
export interface PolicyHop {
  readonly agent: string;
  readonly intent: string;
  readonly task_id: string;
}

/** `input.usage`: what the mesh counted for caller × intent in the current window. */
export interface PolicyUsage {
  readonly window_seconds: number;
  /** Admitted calls in the window, not counting this one. */
  readonly calls: number;
  readonly spend_micros: number;
}

/** The input of one evaluation. */
export interface PolicyInput {
  readonly now_ms: number;
  readonly service: { readonly name: string; readonly kind: "gateway" | "agent" };
  readonly caller: PolicyCaller;
  /** `agent` is "" at the gateway, where routing comes after policy. */
  readonly target: { readonly agent: string };
  readonly request: {
    readonly task_id: string;
    readonly intent: string;
    readonly input_digest: string;
    readonly data_class: string;
    readonly allowed_tools: readonly string[];
    readonly max_cost_micros: number;
    readonly max_tokens: number;
  };
  readonly chain: {
    readonly depth: number;
    readonly hops: readonly PolicyHop[];
    /** What is left on the chain; null: no cap. */
    readonly budget: { readonly money_micros: number | null; readonly tokens: number | null };
  };
  readonly usage: PolicyUsage;
  readonly approval: { readonly granted: boolean; readonly approver: string };
  readonly flags: Readonly<Record<string, unknown>>;
}

/** Status names a reason may carry; the refusal's status code. */
export const reasonStatuses = ["PERMISSION_DENIED", "FAILED_PRECONDITION", "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT"] as const;

/** One of `reasonStatuses`. */
export type ReasonStatus = (typeof reasonStatuses)[number];

/** One reason behind a decision. */
export interface DecisionReason {
  readonly code: string;
  readonly message: string;
  /** Set on reasons that refuse the call; absent on `approval_required`. */
  readonly status?: ReasonStatus;
}

/** `decision.quota`: the limits the mesh counts caller × intent against. */
export interface DecisionQuota {
  readonly window_seconds: number;
  readonly max_calls?: number;
  readonly max_spend_micros?: number;
}

/** A decision that passed `checkDecision`. */
export interface ContractDecision {
  readonly allow: boolean;
  readonly requires_approval: boolean;
  readonly reasons: readonly DecisionReason[];
  readonly quota?: DecisionQuota;
  /** The bundle's data revision; the manifest's revision is used when absent. */
  readonly revision?: string;
}

/**
 * Checks that the value `data.agentmesh.decision` evaluated to is a decision of
 * the contract's shape and returns it, typed, without copying (evaluation is on
 * every call's path). Throws `PolicyEvaluationError` naming the first problem:
 * for an undefined decision (the SDK's empty result set), a missing or mistyped
 * field, an unknown status, or `allow` together with `requires_approval`.
 */
export function checkDecision(resultSet: unknown): ContractDecision {
  if (!Array.isArray(resultSet) || resultSet.length === 0) {
    throw new PolicyEvaluationError("the policy returned no decision (data.agentmesh.decision is undefined for this input)");
  }
  if (resultSet.length > 1) {
    throw new PolicyEvaluationError(`the policy returned ${resultSet.length} decisions, not one`);
  }
  const d = (resultSet[0] as { result?: unknown }).result;
  if (!isObject(d)) throw malformed("is not an object");
  if (typeof d.allow !== "boolean") throw malformed("allow is not a boolean");
  if (typeof d.requires_approval !== "boolean") throw malformed("requires_approval is not a boolean");
  if (d.allow && d.requires_approval) throw malformed("allow and requires_approval are both true");
  if (!Array.isArray(d.reasons)) throw malformed("reasons is not an array");
  const reasons = d.reasons as unknown[];
  for (let i = 0; i < reasons.length; i++) {
    const r = reasons[i];
    if (!isObject(r) || typeof r.code !== "string" || r.code === "" || typeof r.message !== "string") {
      throw malformed(`reasons[${i}] is not {code, message}`);
    }
    if (r.status !== undefined && !(reasonStatuses as readonly unknown[]).includes(r.status)) {
      throw malformed(`reasons[${i}].status ${JSON.stringify(r.status)} is not one of ${reasonStatuses.join(", ")}`);
    }
  }
  if (d.quota !== undefined) checkQuota(d.quota);
  if (d.revision !== undefined && typeof d.revision !== "string") throw malformed("revision is not a string");
  return d as unknown as ContractDecision;
}

function checkQuota(q: unknown): void {
  if (!isObject(q) || !isCount(q.window_seconds) || q.window_seconds === 0) throw malformed("quota.window_seconds is not a positive integer");
  for (const field of ["max_calls", "max_spend_micros"] as const) {
    if (q[field] !== undefined && !isCount(q[field])) throw malformed(`quota.${field} is not a non-negative integer`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function malformed(problem: string): PolicyEvaluationError {
  return new PolicyEvaluationError(`the policy's decision is malformed: ${problem}`);
}
