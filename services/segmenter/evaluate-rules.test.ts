import { describe, expect, it } from "vitest";
import { evaluateRules } from "./evaluate-rules.js";
import type { SegmentRule } from "./intent.js";
import { SegmentationRuleError } from "./segmentation-rule-error.js";

const header = ["id", "country", "employees"];
const rows = [
  ["1", "US", "800"],
  ["2", "US", "20"],
  ["3", "DE", "900"],
  ["4", "FR", "5"],
];

describe("evaluateRules", () => {
  it("returns the first rule whose conditions all hold, per row", () => {
    const rules: SegmentRule[] = [
      { segment: "us-enterprise", when: [{ field: "country", op: "eq", value: "US" }, { field: "employees", op: "gte", value: 500 }] },
      { segment: "us", when: [{ field: "country", op: "eq", value: "US" }] },
      { segment: "large", when: [{ field: "employees", op: "gt", value: 100 }] },
    ];
    expect(evaluateRules(rules, header, rows)).toEqual([0, 1, 2, undefined]);
  });

  it("matches every row with a rule without conditions", () => {
    expect(evaluateRules([{ segment: "all", when: [] }], header, rows)).toEqual([0, 0, 0, 0]);
  });

  it("returns no matches without rules", () => {
    expect(evaluateRules([], header, rows)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("throws a SegmentationRuleError naming the rule index and the unknown column", () => {
    const rules: SegmentRule[] = [
      { segment: "all", when: [] },
      { segment: "emea", when: [{ field: "regoin", op: "eq", value: "EMEA" }] },
    ];
    const error = catchError(() => evaluateRules(rules, header, rows));
    expect(error).toBeInstanceOf(SegmentationRuleError);
    expect(error).toMatchObject({
      name: "SegmentationRuleError",
      message: 'rule 1 (segment "emea") names unknown column "regoin"; the CSV has "id", "country", "employees"',
      ruleIndex: 1,
      column: "regoin",
      problem: "unknown_column",
      retryable: false,
    });
  });

  it("lists at most 20 columns in the message", () => {
    const wide = Array.from({ length: 25 }, (_, index) => `c${index}`);
    const error = catchError(() => evaluateRules([{ segment: "s", when: [{ field: "x", op: "eq", value: 1 }] }], wide, []));
    expect((error as Error).message).toBe(
      `rule 0 (segment "s") names unknown column "x"; the CSV has ${wide.slice(0, 20).map((c) => `"${c}"`).join(", ")}, …`,
    );
  });

  it.each([
    [{ field: "country", op: "in", value: "US" }, 'rule 0 (segment "s") tests column "country" with "in", which takes a list'],
    [{ field: "country", op: "eq", value: ["US"] }, 'rule 0 (segment "s") tests column "country" with "eq", which takes a single value'],
  ] as const)("throws a SegmentationRuleError for a value of the wrong shape: %j", (condition, message) => {
    const rules = [{ segment: "s", when: [condition] }] as SegmentRule[];
    expect(catchError(() => evaluateRules(rules, header, rows))).toMatchObject({
      message,
      ruleIndex: 0,
      column: "country",
      problem: "value_shape",
    });
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
