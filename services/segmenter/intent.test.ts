import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { segmentLeadsInputSchema, segmentLeadsOutputSchema } from "./intent.js";

const ajv = new Ajv2020({ strict: true, allErrors: true });
const validateInputs = ajv.compile(segmentLeadsInputSchema);
const rule = { segment: "us", when: [{ field: "country", op: "eq", value: "US" }] };

describe("segmentLeadsInputSchema", () => {
  it.each([
    ["rules with scalar and list values", { csv: "id\n1", rules: [rule, { segment: "n", when: [{ field: "n", op: "in", value: [1, "2"] }] }] }],
    ["no rules and a default segment", { csv: "id\n1", rules: [], defaultSegment: "other" }],
    ["a rule without conditions", { csv: "id\n1", rules: [{ segment: "all", when: [] }] }],
  ])("accepts %s", (_name, inputs) => {
    expect(validateInputs(inputs)).toBe(true);
  });

  it.each([
    ["an empty CSV", { csv: "", rules: [] }, "/csv must NOT have fewer than 1 characters"],
    ["an unknown operator", { csv: "id", rules: [{ segment: "s", when: [{ field: "a", op: "like", value: "x" }] }] }, "/rules/0/when/0/op must be equal to one of the allowed values"],
    ["an empty segment name", { csv: "id", rules: [{ segment: "", when: [] }] }, "/rules/0/segment must NOT have fewer than 1 characters"],
    ["a missing rules list", { csv: "id" }, " must have required property 'rules'"],
    ["a boolean value", { csv: "id", rules: [{ segment: "s", when: [{ field: "a", op: "eq", value: true }] }] }, "/rules/0/when/0/value must be string, /rules/0/when/0/value must be number, /rules/0/when/0/value must be array, /rules/0/when/0/value must match exactly one schema in oneOf"],
  ])("rejects %s", (_name, inputs, message) => {
    expect(validateInputs(inputs)).toBe(false);
    expect(ajv.errorsText(validateInputs.errors, { dataVar: "" })).toBe(message);
  });
});

describe("segmentLeadsOutputSchema", () => {
  it("compiles under strict draft 2020-12", () => {
    expect(typeof ajv.compile(segmentLeadsOutputSchema)).toBe("function");
  });
});
