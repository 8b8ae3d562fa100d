import { describe, expect, it } from "vitest";
import { renderTemplate, TemplateRenderError } from "./render-template.js";

describe("renderTemplate", () => {
  it.each([
    ["fills placeholders", "{a} and {b}", { a: "x", b: "y" }, "x and y"],
    ["fills a placeholder twice", "{a}{a}", { a: "x" }, "xx"],
    ["never expands braces inside a value", "{a}", { a: "{b}" }, "{b}"],
    ["collapses spaces an empty value leaves", "one {a} two", { a: "" }, "one two"],
    ["collapses blank lines an empty value leaves", "one\n\n{a}\n\ntwo", { a: "" }, "one\n\ntwo"],
    ["trims lines and the whole text", "  {a}  \n  b  ", { a: "x" }, "x\nb"],
    ["leaves a text without placeholders as it is", "plain", {}, "plain"],
  ])("%s", (_name, template, values, expected) => {
    expect(renderTemplate(template, values)).toBe(expected);
  });

  it("throws a TemplateRenderError naming a placeholder without value", () => {
    expect(() => renderTemplate("{a} {missing}", { a: "x" })).toThrow(
      new TemplateRenderError("missing"),
    );
    expect(new TemplateRenderError("missing")).toMatchObject({
      name: "TemplateRenderError",
      message: "template placeholder {missing} has no value",
      placeholder: "missing",
      retryable: false,
    });
  });
});
