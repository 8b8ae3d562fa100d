import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { publishContentInputSchema, publishContentOutputSchema } from "./intent.js";

const ajv = new Ajv2020({ strict: true, allErrors: true });
formats.default(ajv, ["date-time"]);
const validateInputs = ajv.compile(publishContentInputSchema);
const validateOutputs = ajv.compile(publishContentOutputSchema);
const inputs = { channel: "blog", title: "Launch", body: "We launched." };

describe("publishContentInputSchema", () => {
  it.each([
    ["content without a schedule", inputs],
    ["content with a schedule", { ...inputs, scheduledFor: "2025-06-01T09:00:00Z" }],
  ])("accepts %s", (_name, value) => {
    expect(validateInputs(value)).toBe(true);
  });

  it.each([
    ["a date without time", { ...inputs, scheduledFor: "2025-06-01" }, '/scheduledFor must match format "date-time"'],
    ["an empty body", { ...inputs, body: "" }, "/body must NOT have fewer than 1 characters"],
    ["a missing title", { channel: "blog", body: "x" }, " must have required property 'title'"],
    ["an unknown property", { ...inputs, author: "me" }, " must NOT have additional properties"],
  ])("rejects %s", (_name, value, message) => {
    expect(validateInputs(value)).toBe(false);
    expect(ajv.errorsText(validateInputs.errors, { dataVar: "" })).toBe(message);
  });
});

describe("publishContentOutputSchema", () => {
  it.each([
    ["a digest without prefix", { outboxPath: "/o/t.json", digest: "abc", bytes: 1, alreadyPublished: false }, false],
    ["zero bytes", { outboxPath: "/o/t.json", digest: `sha256:${"0".repeat(64)}`, bytes: 0, alreadyPublished: false }, false],
    ["a full result", { outboxPath: "/o/t.json", digest: `sha256:${"0".repeat(64)}`, bytes: 2, alreadyPublished: true }, true],
  ])("checks %s", (_name, value, valid) => {
    expect(validateOutputs(value)).toBe(valid);
  });
});
