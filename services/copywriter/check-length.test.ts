import { describe, expect, it } from "vitest";
import { checkLength, codePointLength } from "./check-length.js";

describe("codePointLength", () => {
  it.each([
    ["", 0],
    ["abc", 3],
    ["😀", 1],
    ["café", 4],
  ])("counts %j as %i", (text, expected) => {
    expect(codePointLength(text)).toBe(expected);
  });
});

describe("checkLength", () => {
  it.each([
    [["ab", "cd"], 4, { length: 4, maxLength: 4, within: true, overBy: 0 }],
    [["ab", "😀😀"], 3, { length: 4, maxLength: 3, within: false, overBy: 1 }],
    [[], 0, { length: 0, maxLength: 0, within: true, overBy: 0 }],
  ])("checks %j against %i", (parts, maxLength, expected) => {
    expect(checkLength(parts, maxLength)).toEqual(expected);
  });
});
