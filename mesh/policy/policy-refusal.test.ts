import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { errorDetailOf } from "../errors.js";
import type { ContractDecision, DecisionReason } from "./policy-contract.js";
import { outcomeOf, policyRefusal } from "./policy-refusal.js";

const usage = { window_seconds: 10, calls: 3, spend_micros: 900 };
const deny = (reasons: DecisionReason[], quota?: ContractDecision["quota"]): ContractDecision => ({ allow: false, requires_approval: false, reasons, ...(quota === undefined ? {} : { quota }) });
const approval: DecisionReason = { code: "approval_required", message: "content.publish is high risk" };

describe("outcomeOf", () => {
  it.each<[string, ContractDecision, string]>([
    ["allow", { allow: true, requires_approval: false, reasons: [] }, "allow"],
    ["approval without a refusing reason", { allow: false, requires_approval: true, reasons: [approval] }, "approval"],
    ["approval with a refusing reason", { allow: false, requires_approval: true, reasons: [approval, { code: "budget_exhausted", message: "b", status: "FAILED_PRECONDITION" }] }, "deny"],
    ["deny", deny([{ code: "scope_missing", message: "s", status: "PERMISSION_DENIED" }]), "deny"],
  ])("%s", (_what, decision, outcome) => {
    expect(outcomeOf(decision)).toBe(outcome);
  });
});

describe("policyRefusal", () => {
  it.each<[string, DecisionReason[], Code, string, string]>([
    ["PERMISSION_DENIED", [{ code: "scope_missing", message: "alice lacks scope content:publish", status: "PERMISSION_DENIED" }], Code.PermissionDenied, "scope_missing", "alice lacks scope content:publish"],
    ["FAILED_PRECONDITION", [{ code: "chain_cycle", message: "copywriter already runs copy.draft", status: "FAILED_PRECONDITION" }], Code.FailedPrecondition, "chain_cycle", "copywriter already runs copy.draft"],
    ["INVALID_ARGUMENT", [{ code: "bad_class", message: "no such class", status: "INVALID_ARGUMENT" }], Code.InvalidArgument, "bad_class", "no such class"],
    ["no status", [{ code: "custom", message: "no" }], Code.PermissionDenied, "custom", "no"],
    ["the first reason carrying a status, after one without", [approval, { code: "budget_exhausted", message: "budget used up", status: "FAILED_PRECONDITION" }], Code.FailedPrecondition, "budget_exhausted", "content.publish is high risk; budget used up"],
    ["no reasons", [], Code.PermissionDenied, "policy_denied", "the policy refused this call"],
  ])("maps %s to its status and reason", (_what, reasons, code, reason, message) => {
    const err = policyRefusal(deny(reasons), { usage, retryAfterMs: 0 });
    expect([err.code, err.rawMessage]).toEqual([code, message]);
    const detail = errorDetailOf(err)!;
    expect([detail.reason, detail.policyReasons.map((r) => [r.code, r.message]), detail.metadata]).toEqual([reason, reasons.map((r) => [r.code, r.message]), {}]);
  });

  const quotaReason: DecisionReason = { code: "quota_exceeded", message: "alice used 3 of 3 calls", status: "RESOURCE_EXHAUSTED" };
  it.each<[string, ContractDecision["quota"], typeof usage, Record<string, string>]>([
    ["calls reached", { window_seconds: 10, max_calls: 3, max_spend_micros: 5000 }, usage, { limit: "3", limit_kind: "calls", window_seconds: "10", retry_after_ms: "4000" }],
    ["spend reached", { window_seconds: 10, max_calls: 5, max_spend_micros: 900 }, usage, { limit: "900", limit_kind: "spend_micros", window_seconds: "10", retry_after_ms: "4000" }],
    ["only a spend limit", { window_seconds: 10, max_spend_micros: 900 }, usage, { limit: "900", limit_kind: "spend_micros", window_seconds: "10", retry_after_ms: "4000" }],
    ["no quota named", undefined, usage, { window_seconds: "10", retry_after_ms: "4000" }],
  ])("adds the limit and the retry time for quota_exceeded (%s)", (_what, quota, used, metadata) => {
    const err = policyRefusal(deny([quotaReason], quota), { usage: used, retryAfterMs: 4000 });
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(errorDetailOf(err)!.metadata).toEqual(metadata);
  });
});
