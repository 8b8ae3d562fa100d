import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { draftCopyInputSchema, draftCopyOutputSchema } from "./intent.js";

const ajv = new Ajv2020({ strict: true, allErrors: true });
const validateInputs = ajv.compile(draftCopyInputSchema);

const brief = {
  product: "Acme",
  audience: "teams",
  tone: "bold",
  channel: "landing",
  keyMessages: ["Fast"],
  callToAction: "Buy",
};

describe("draftCopyInputSchema", () => {
  it.each([
    ["a minimal brief", { brief }],
    ["a brief with maxLength and context", { brief: { ...brief, maxLength: 40 }, context: "Summary." }],
  ])("accepts %s", (_name, inputs) => {
    expect(validateInputs(inputs)).toBe(true);
  });

  it.each([
    ["no key message", { brief: { ...brief, keyMessages: [] } }, "/brief/keyMessages must NOT have fewer than 1 items"],
    ["six key messages", { brief: { ...brief, keyMessages: ["a", "b", "c", "d", "e", "f"] } }, "/brief/keyMessages must NOT have more than 5 items"],
    ["an unknown tone", { brief: { ...brief, tone: "sarcastic" } }, "/brief/tone must be equal to one of the allowed values"],
    ["an unknown channel", { brief: { ...brief, channel: "print" } }, "/brief/channel must be equal to one of the allowed values"],
    ["a maxLength below 40", { brief: { ...brief, maxLength: 39 } }, "/brief/maxLength must be >= 40"],
    ["a missing call to action", { brief: { ...brief, callToAction: undefined } }, "/brief must have required property 'callToAction'"],
    ["an unknown property", { brief, audienceSize: 3 }, " must NOT have additional properties"],
  ])("rejects %s", (_name, inputs, message) => {
    expect(validateInputs(JSON.parse(JSON.stringify(inputs)))).toBe(false);
    expect(ajv.errorsText(validateInputs.errors, { dataVar: "" })).toBe(message);
  });
});

describe("draftCopyOutputSchema", () => {
  it("compiles under strict draft 2020-12", () => {
    expect(typeof ajv.compile(draftCopyOutputSchema)).toBe("function");
  });
});
