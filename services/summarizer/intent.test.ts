import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { summarizeInputSchema, summarizeOutputSchema } from "./intent.js";

const ajv = new Ajv2020({ strict: true, allErrors: true });
const validateInputs = ajv.compile(summarizeInputSchema);

describe("summarizeInputSchema", () => {
  it.each([
    ["one document", { documents: [{ title: "a", text: "b" }] }],
    ["an empty text", { documents: [{ title: "", text: "" }], maxSentences: 1 }],
    ["the most sentences", { documents: [{ title: "a", text: "b" }], maxSentences: 20 }],
  ])("accepts %s", (_name, inputs) => {
    expect(validateInputs(inputs)).toBe(true);
  });

  it.each([
    ["no documents", { documents: [] }, "/documents must NOT have fewer than 1 items"],
    ["a missing text", { documents: [{ title: "a" }] }, "/documents/0 must have required property 'text'"],
    ["an unknown property", { documents: [{ title: "a", text: "b", url: "x" }] }, "/documents/0 must NOT have additional properties"],
    ["maxSentences 0", { documents: [{ title: "a", text: "b" }], maxSentences: 0 }, "/maxSentences must be >= 1"],
    ["maxSentences 21", { documents: [{ title: "a", text: "b" }], maxSentences: 21 }, "/maxSentences must be <= 20"],
    ["a fractional maxSentences", { documents: [{ title: "a", text: "b" }], maxSentences: 1.5 }, "/maxSentences must be integer"],
  ])("rejects %s", (_name, inputs, message) => {
    expect(validateInputs(inputs)).toBe(false);
    expect(ajv.errorsText(validateInputs.errors, { dataVar: "" })).toBe(message);
  });
});

describe("summarizeOutputSchema", () => {
  it("compiles under strict draft 2020-12", () => {
    expect(typeof ajv.compile(summarizeOutputSchema)).toBe("function");
  });
});
