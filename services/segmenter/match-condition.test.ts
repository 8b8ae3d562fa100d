import { describe, expect, it } from "vitest";
import type { ConditionOp, ConditionScalar } from "./intent.js";
import { matchCondition, parseNumber } from "./match-condition.js";

describe("parseNumber", () => {
  it.each([
    ["42", 42],
    [" -3.5 ", -3.5],
    [".5", 0.5],
    ["1e3", 1000],
    [7, 7],
    ["", undefined],
    ["0x1F", undefined],
    ["Infinity", undefined],
    ["12abc", undefined],
    [Number.NaN, undefined],
  ])("reads %j as %j", (value, expected) => {
    expect(parseNumber(value)).toBe(expected);
  });
});

describe("matchCondition", () => {
  it.each<[string, ConditionOp, ConditionScalar | ConditionScalar[], boolean]>([
    ["10", "eq", 10, true],
    ["10.0", "eq", "10", true],
    [" US ", "eq", "US", true],
    ["us", "eq", "US", false],
    ["", "eq", "", true],
    ["US", "neq", "DE", true],
    ["10", "neq", 10, false],
    ["9", "lt", "10", true],
    ["9", "gt", 10, false],
    ["500", "gte", 500, true],
    ["499", "lte", 500, true],
    ["2024-03-01", "gte", "2024-01-15", true],
    ["2023-12-31", "gt", "2024-01-15", false],
    ["abc", "gt", "abb", true],
    ["", "lt", 10, false],
    ["", "lte", "z", false],
    ["Head of Marketing", "contains", "marketing", true],
    ["Head of Sales", "contains", "marketing", false],
    ["1234", "contains", 23, true],
    ["DE", "in", ["US", "DE"], true],
    ["3", "in", [1, 2, 3.0], true],
    ["FR", "in", ["US", "DE"], false],
    ["FR", "in", [], false],
    ["FR", "in", "FR", false],
    ["FR", "eq", ["FR"], false],
  ])("%j %s %j is %s", (cell, op, value, expected) => {
    expect(matchCondition(cell, op, value)).toBe(expected);
  });
});
