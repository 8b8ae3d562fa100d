import { describe, expect, it } from "vitest";
import { extractTerms } from "./extract-terms.js";

describe("extractTerms", () => {
  it.each([
    ["drops stopwords and keeps repetitions", "The dashboard and the Dashboard", ["dashboard", "dashboard"]],
    ["drops numbers and one-letter tokens", "Plan B costs 49.99 in Q3 2024", ["plan", "costs", "q3"]],
    ["keeps hyphenated and dotted words whole", "Opt-in e-mail at example.com", ["opt-in", "e-mail", "example.com"]],
    ["treats curly apostrophes as straight ones", "Don’t miss Acme’s launch", ["miss", "acme", "launch"]],
    ["drops a possessive 's", "Acme's pricing, Acme pricing", ["acme", "pricing", "acme", "pricing"]],
    ["drops e.g. and i.e.", "e.g. this, i.e. that", []],
    ["drops tokens over 40 characters", `id ${"a".repeat(41)} kept`, ["id", "kept"]],
    ["handles letters beyond ASCII", "Café résumé", ["café", "résumé"]],
  ])("%s", (_name, sentence, expected) => {
    expect(extractTerms(sentence)).toEqual(expected);
  });
});
