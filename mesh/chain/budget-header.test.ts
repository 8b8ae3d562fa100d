import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { thrown } from "../../test/support/rejection.js";
import { errorDetailOf } from "../errors.js";
import { formatBudget, parseBudget } from "./budget-header.js";
import type { Budget } from "./delegation-chain.js";

describe("formatBudget / parseBudget", () => {
  it.each<[string, Budget, string | undefined]>([
    ["both limits", { moneyMicros: 1500n, tokens: 800n }, "money_micros=1500,tokens=800"],
    ["money only, negative", { moneyMicros: -20n, tokens: undefined }, "money_micros=-20"],
    ["tokens only", { moneyMicros: undefined, tokens: 0n }, "tokens=0"],
    ["no limit", { moneyMicros: undefined, tokens: undefined }, undefined],
  ])("writes %s and reads it back", (_name, budget, header) => {
    expect(formatBudget(budget)).toBe(header);
    expect(parseBudget(header ?? null)).toEqual(budget);
  });

  it.each<[string, string]>([
    ["spaces around the parts", " tokens = 7 , money_micros=3 "],
    ["the parts in either order", "tokens=7,money_micros=3"],
  ])("reads %s", (_name, header) => {
    expect(parseBudget(header)).toEqual({ moneyMicros: 3n, tokens: 7n });
  });

  it.each<[string, string]>([
    ["an unknown key", "dollars=5"],
    ["a decimal", "money_micros=1.5"],
    ["twenty digits", "tokens=12345678901234567890"],
    ["a key twice", "tokens=1,tokens=2"],
    ["an empty part", "tokens=1,"],
    ["no value", "money_micros="],
  ])("throws INVALID_ARGUMENT budget_malformed for %s", (_name, header) => {
    const ce = thrown(() => parseBudget(header));
    expect([ce.code, ce.rawMessage, errorDetailOf(ce)?.reason]).toEqual([
      Code.InvalidArgument, "malformed agentmesh-budget header: expected money_micros=<integer>,tokens=<integer>", "budget_malformed",
    ]);
  });
});
