import { Ajv2020 } from "ajv/dist/2020.js";
import { beforeEach, describe, expect, it } from "vitest";
import { recordToolCalls } from "../shared/record-tool-calls.js";
import { draftCopy as draftCopyWith } from "./draft-copy.js";
import { copyChannels, copyTones, draftCopyOutputSchema, type CopyBrief } from "./intent.js";

const validateOutputs = new Ajv2020({ strict: true }).compile(draftCopyOutputSchema);

const brief: CopyBrief = {
  product: "Acme Analytics",
  audience: "marketing teams",
  tone: "friendly",
  channel: "email",
  keyMessages: ["Track campaign spend in real time", "Export reports to CSV"],
  callToAction: "Start your free trial",
};
const context = "Beta users praised the dashboard. Some asked for alerts.";

// Runs the tools directly and records their names (the mesh would trace and count them).
let record = recordToolCalls();
beforeEach(() => {
  record = recordToolCalls();
});
const draftCopy = (inputs: Parameters<typeof draftCopyWith>[0]) => draftCopyWith(inputs, record.tool);

describe("draftCopy", () => {
  it("fills the brief's template and meets every requirement", () => {
    expect(draftCopy({ brief, context })).toEqual({
      outputs: {
        headline: "Say hello to Acme Analytics for marketing teams",
        body:
          "Hi marketing teams!\n\nBeta users praised the dashboard. Some asked for alerts.\n\n" +
          "Acme Analytics is here, and here is why it matters:\n- Track campaign spend in real time\n" +
          "- Export reports to CSV\n\nWe think you'll love it.",
        callToAction: "Start your free trial",
        channel: "email",
        characterCount: 284,
        template: "email/announcement:friendly",
      },
      rationale:
        "Filled template email/announcement:friendly with 2 key messages and the given context; the copy " +
        "has 284 of at most 2000 characters. 5 of 5 brief requirements met.",
      evidence: [
        {
          kind: "template",
          description:
            "Template email/announcement:friendly, 1 of 3 for email, picked by FNV-1a hash eed76ada of the brief",
        },
        { kind: "requirement_check", description: 'Key message 1 "Track campaign spend in real time": met' },
        { kind: "requirement_check", description: 'Key message 2 "Export reports to CSV": met' },
        { kind: "requirement_check", description: 'Call to action "Start your free trial": met' },
        { kind: "requirement_check", description: "Length 284 of at most 2000: met" },
        { kind: "requirement_check", description: "Context snippet: met" },
      ],
      confidence: 1,
    });
    expect(record.calls).toEqual([...Array<string>(5).fill("template.render"), "text.check-length"]);
  });

  it("picks the same template for the same brief, whatever the context", () => {
    const first = draftCopy({ brief: { ...brief, tone: "formal" } });
    const again = draftCopy({ brief: { ...brief, tone: "formal" }, context: "Other background." });
    expect(first.outputs.template).toBe("email/problem-solution:formal");
    expect(again.outputs.template).toBe("email/problem-solution:formal");
    expect(draftCopy({ brief: { ...brief, tone: "formal" } })).toEqual(first);
  });

  it("cuts the body at a word boundary to fit maxLength and reports it", () => {
    const outcome = draftCopy({ brief: { ...brief, channel: "social", maxLength: 100 } });
    expect(outcome).toEqual({
      outputs: {
        headline: "Say hello to Acme Analytics",
        body: "Track campaign spend in real time. Export reports…",
        callToAction: "Start your free trial",
        channel: "social",
        characterCount: 98,
        template: "social/hook:friendly",
      },
      rationale:
        "Filled template social/hook:friendly with 2 key messages; the copy has 98 of at most 100 characters. " +
        "The body was cut by 22 characters at a word boundary to fit 100. 3 of 4 brief requirements met.",
      evidence: [
        {
          kind: "template",
          description: "Template social/hook:friendly, 1 of 3 for social, picked by FNV-1a hash 6894d8e1 of the brief",
        },
        { kind: "requirement_check", description: 'Key message 1 "Track campaign spend in real time": met' },
        { kind: "requirement_check", description: 'Key message 2 "Export reports to CSV": not met' },
        { kind: "requirement_check", description: 'Call to action "Start your free trial": met' },
        { kind: "requirement_check", description: "Length 98 of at most 100: met" },
      ],
      confidence: 0.75,
    });
    // The second length check follows the cut.
    expect(record.calls).toEqual([...Array<string>(5).fill("template.render"), "text.check-length", "text.check-length"]);
  });

  it("empties the body and fails the length requirement when headline and call to action alone are too long", () => {
    const outcome = draftCopy({
      brief: { ...brief, channel: "social", product: "The Acme Analytics Platform For Everyone", maxLength: 40 },
    });
    expect(outcome.outputs).toEqual({
      headline: "Say hello to The Acme Analytics Platform For Everyone",
      body: "",
      callToAction: "Start your free trial",
      channel: "social",
      characterCount: 74,
      template: "social/hook:friendly",
    });
    expect(outcome.rationale).toBe(
      "Filled template social/hook:friendly with 2 key messages; the copy has 74 of at most 40 characters. " +
        "Even without a body, the headline and call to action exceed 40. 1 of 4 brief requirements met.",
    );
    expect(outcome.confidence).toBe(0.25);
  });

  it("keeps social copy within 280 characters by default", () => {
    const keyMessages = ["a", "b", "c", "d", "e"].map((letter) => `Benefit ${letter} `.repeat(12).trim());
    const outcome = draftCopy({ brief: { ...brief, channel: "social", keyMessages } });
    expect(outcome.outputs).toEqual({
      headline: "Say hello to Acme Analytics",
      // 280 - 27 (headline) - 21 (call to action) leaves 232; the cut lands after 231.
      body: `${keyMessages[0]}. ${"Benefit b ".repeat(11).trim()}…`,
      callToAction: "Start your free trial",
      channel: "social",
      characterCount: 279,
      template: "social/hook:friendly",
    });
    // Message 1, the call to action and the length hold; messages 2 to 5 were cut: 3 of 7.
    expect(outcome.confidence).toBe(0.4286);
  });

  it("clips long context to 240 characters and counts it as used", () => {
    const longContext = "Analysts liked the new dashboard very much. ".repeat(10);
    const outcome = draftCopy({ brief: { ...brief, channel: "landing" }, context: longContext });
    expect(outcome.outputs.body).toContain(
      "Analysts liked the new dashboard very much. ".repeat(5) + "Analysts liked the…",
    );
    expect(outcome.evidence.at(-1)).toEqual({ kind: "requirement_check", description: "Context snippet: met" });
    expect(outcome.confidence).toBe(1);
  });

  it("treats blank context as none and matches key messages regardless of case and spacing", () => {
    const outcome = draftCopy({
      brief: { ...brief, keyMessages: ["Export  reports\nto CSV"], callToAction: "  Book a demo " },
      context: " \n ",
    });
    expect(outcome.outputs.callToAction).toBe("Book a demo");
    expect(outcome.outputs.body).toContain("Export reports to CSV");
    expect(outcome.evidence.map((item) => item.description).slice(1)).toEqual([
      'Key message 1 "Export reports to CSV": met',
      'Call to action "Book a demo": met',
      `Length ${outcome.outputs.characterCount} of at most 2000: met`,
    ]);
    expect(outcome.confidence).toBe(1);
  });

  it.each(copyChannels.flatMap((channel) => copyTones.map((tone) => [channel, tone] as const)))(
    "produces outputs valid against the output schema for %s in a %s tone",
    (channel, tone) => {
      const outcome = draftCopy({ brief: { ...brief, channel, tone }, context });
      expect(validateOutputs(outcome.outputs)).toBe(true);
      expect(outcome.outputs.template.startsWith(`${channel}/`) && outcome.outputs.template.endsWith(`:${tone}`)).toBe(
        true,
      );
      expect(outcome.confidence).toBe(1);
    },
  );
});
