import { describe, expect, it } from "vitest";
import { checkDecision } from "./policy-contract.js";
import { PolicyEvaluationError } from "./policy-errors.js";

const allow = { allow: true, requires_approval: false, reasons: [], quota: { window_seconds: 60, max_calls: 10 }, revision: "r1" };
const resultSet = (decision: unknown) => [{ result: decision }];

describe("checkDecision", () => {
  it("returns a decision of the contract's shape as it is", () => {
    const decision = { ...allow, reasons: [{ code: "quota_exceeded", message: "m", status: "RESOURCE_EXHAUSTED" }], allow: false };
    expect(checkDecision(resultSet(decision))).toBe(decision);
    expect(checkDecision(resultSet({ allow: false, requires_approval: true, reasons: [{ code: "approval_required", message: "m" }] }))).toEqual({
      allow: false, requires_approval: true, reasons: [{ code: "approval_required", message: "m" }],
    });
  });

  it.each<[string, unknown, string]>([
    ["an empty result set (undefined decision)", [], "the policy returned no decision (data.agentmesh.decision is undefined for this input)"],
    ["no result set at all", null, "the policy returned no decision (data.agentmesh.decision is undefined for this input)"],
    ["two results", [{ result: allow }, { result: allow }], "the policy returned 2 decisions, not one"],
    ["a boolean decision", resultSet(true), "the policy's decision is malformed: is not an object"],
    ["a string allow", resultSet({ ...allow, allow: "true" }), "the policy's decision is malformed: allow is not a boolean"],
    ["no requires_approval", resultSet({ allow: true, reasons: [] }), "the policy's decision is malformed: requires_approval is not a boolean"],
    ["allow with requires_approval", resultSet({ ...allow, requires_approval: true }), "the policy's decision is malformed: allow and requires_approval are both true"],
    ["reasons as a set-like object", resultSet({ ...allow, reasons: {} }), "the policy's decision is malformed: reasons is not an array"],
    ["a reason without a code", resultSet({ ...allow, reasons: [{ message: "m" }] }), "the policy's decision is malformed: reasons[0] is not {code, message}"],
    ["an unknown status", resultSet({ ...allow, reasons: [{ code: "c", message: "m", status: "NOT_FOUND" }] }), 'the policy\'s decision is malformed: reasons[0].status "NOT_FOUND" is not one of PERMISSION_DENIED, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, INVALID_ARGUMENT'],
    ["a zero quota window", resultSet({ ...allow, quota: { window_seconds: 0 } }), "the policy's decision is malformed: quota.window_seconds is not a positive integer"],
    ["a fractional call limit", resultSet({ ...allow, quota: { window_seconds: 60, max_calls: 1.5 } }), "the policy's decision is malformed: quota.max_calls is not a non-negative integer"],
    ["a numeric revision", resultSet({ ...allow, revision: 3 }), "the policy's decision is malformed: revision is not a string"],
  ])("refuses %s", (_what, value, message) => {
    expect(() => checkDecision(value)).toThrow(new PolicyEvaluationError(message));
  });
});
