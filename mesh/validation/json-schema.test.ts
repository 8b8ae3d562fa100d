import { describe, expect, it } from "vitest";
import { createSchemaValidator, describeViolations } from "./json-schema.js";
import type { SchemaViolation } from "./json-schema.js";

const briefSchema = {
  type: "object",
  required: ["brief"],
  additionalProperties: false,
  properties: {
    brief: {
      type: "object",
      required: ["tone", "channel"],
      additionalProperties: false,
      properties: {
        tone: { type: "string", enum: ["bold", "calm"] },
        channel: { type: "string" },
        maxLength: { type: "integer", minimum: 40 },
        keyMessages: { type: "array", items: { type: "string" }, maxItems: 2 },
        contact: { type: "string", format: "email" },
      },
    },
    "a/b~c": { type: "number" },
  },
};

describe("createSchemaValidator", () => {
  it("returns no violations for a valid value", () => {
    const v = createSchemaValidator();
    expect(v.validate(briefSchema, { brief: { tone: "bold", channel: "web", keyMessages: ["fast"], contact: "a@example.com" } }, "inputs")).toEqual([]);
  });

  it.each<[string, unknown, SchemaViolation[]]>([
    ["a missing top-level property", {}, [{ field: "inputs.brief", description: "is required" }]],
    [
      "missing nested properties, every one of them",
      { brief: {} },
      [
        { field: "inputs.brief.tone", description: "is required" },
        { field: "inputs.brief.channel", description: "is required" },
      ],
    ],
    ["a nested value of the wrong type", { brief: { tone: "bold", channel: 7 } }, [{ field: "inputs.brief.channel", description: "must be string" }]],
    [
      "a nested property the schema does not allow",
      { brief: { tone: "bold", channel: "web", audience: "teams" } },
      [{ field: "inputs.brief.audience", description: "is not allowed by the schema" }],
    ],
    ["a top-level property the schema does not allow", { brief: { tone: "bold", channel: "web" }, extra: 1 }, [{ field: "inputs.extra", description: "is not allowed by the schema" }]],
    [
      "an array item of the wrong type",
      { brief: { tone: "bold", channel: "web", keyMessages: ["ok", 3] } },
      [{ field: "inputs.brief.keyMessages.1", description: "must be string" }],
    ],
    [
      "a value outside the enum and below the minimum",
      { brief: { tone: "sarcastic", channel: "web", maxLength: 39 } },
      [
        { field: "inputs.brief.tone", description: "must be equal to one of the allowed values" },
        { field: "inputs.brief.maxLength", description: "must be >= 40" },
      ],
    ],
    ["a bad format", { brief: { tone: "bold", channel: "web", contact: "nobody" } }, [{ field: "inputs.brief.contact", description: 'must match format "email"' }]],
    [
      "a property name with JSON pointer escapes",
      { brief: { tone: "bold", channel: "web" }, "a/b~c": "x" },
      [{ field: "inputs.a/b~c", description: "must be number" }],
    ],
    ["a value that is not an object", [], [{ field: "inputs", description: "must be object" }]],
  ])("names the field of %s", (_name, value, expected) => {
    expect(createSchemaValidator().validate(briefSchema, value, "inputs")).toEqual(expected);
  });

  it("names violations below the given root", () => {
    expect(createSchemaValidator().validate({ type: "object", required: ["headline"] }, {}, "outputs")).toEqual([
      { field: "outputs.headline", description: "is required" },
    ]);
  });

  it("gives the same answer when the same schema is used again", () => {
    const v = createSchemaValidator();
    v.compile(briefSchema);
    const value = { brief: { tone: "bold" } };
    const first = v.validate(briefSchema, value, "inputs");
    expect(v.validate(JSON.parse(JSON.stringify(briefSchema)) as Record<string, unknown>, value, "inputs")).toEqual(first);
    expect(first).toEqual([{ field: "inputs.brief.channel", description: "is required" }]);
  });

  it.each<[string, (v: ReturnType<typeof createSchemaValidator>, schema: Record<string, unknown>) => unknown]>([
    ["compile", (v, schema) => v.compile(schema)],
    ["validate", (v, schema) => v.validate(schema, {}, "inputs")],
  ])("%s throws for a schema that is itself invalid", (_name, use) => {
    expect(() => use(createSchemaValidator(), { type: "objekt" })).toThrow(/schema is invalid: data\/type must be equal to one of the allowed values/);
  });
});

describe("describeViolations", () => {
  const v = (n: number): SchemaViolation => ({ field: `inputs.f${n}`, description: `is wrong ${n}` });

  it.each<[string, SchemaViolation[], number | undefined, string]>([
    ["no violations", [], undefined, ""],
    ["one violation", [v(1)], undefined, "inputs.f1 is wrong 1"],
    ["exactly the maximum", [v(1), v(2), v(3)], undefined, "inputs.f1 is wrong 1; inputs.f2 is wrong 2; inputs.f3 is wrong 3"],
    ["one over the default maximum", [v(1), v(2), v(3), v(4)], undefined, "inputs.f1 is wrong 1; inputs.f2 is wrong 2; inputs.f3 is wrong 3 (and 1 more)"],
    ["five with a maximum of one", [v(1), v(2), v(3), v(4), v(5)], 1, "inputs.f1 is wrong 1 (and 4 more)"],
    ["two with a maximum of five", [v(1), v(2)], 5, "inputs.f1 is wrong 1; inputs.f2 is wrong 2"],
  ])("formats %s", (_name, violations, max, expected) => {
    expect(describeViolations(violations, max)).toBe(expected);
  });
});
