import { describe, expect, it } from "vitest";
import { copyTones } from "./intent.js";
import { renderTemplate } from "./render-template.js";
import { copyTemplates, toneVoices } from "./templates.js";

const values = {
  product: "P",
  audience: "A",
  hook: "H",
  opener: "O",
  closing: "C",
  context: "X",
  messages: "M",
  hashtag: "#P",
};

describe("copyTemplates", () => {
  it("offers three templates per channel, with ids named after their channel", () => {
    expect(Object.fromEntries(Object.entries(copyTemplates).map(([channel, list]) => [channel, list.map((t) => t.id)])))
      .toEqual({
        email: ["email/announcement", "email/problem-solution", "email/digest"],
        social: ["social/hook", "social/shout-out", "social/list"],
        landing: ["landing/hero", "landing/benefits", "landing/story"],
      });
  });

  it.each(Object.values(copyTemplates).flat().map((template) => [template.id, template] as const))(
    "%s renders with the known placeholders and always says the messages",
    (_id, template) => {
      expect(renderTemplate(template.headline, values)).not.toBe("");
      expect(renderTemplate(template.body, values)).toContain("M");
    },
  );

  it.each(copyTones)("the %s voice renders with product and audience only", (tone) => {
    const voice = toneVoices[tone];
    for (const phrase of [voice.hook, voice.opener, voice.closing]) {
      expect(renderTemplate(phrase, { product: "P", audience: "A" })).not.toContain("{");
    }
  });
});
