import { describe, expect, it } from "vitest";
import { trimToWordBoundary } from "./trim-to-word-boundary.js";

describe("trimToWordBoundary", () => {
  it.each([
    ["returns text that fits unchanged", "short text", 10, "short text"],
    ["cuts at the last space and adds an ellipsis", "alpha beta gamma", 12, "alpha beta…"],
    ["keeps a word that ends exactly at the cut", "alpha beta gamma", 11, "alpha beta…"],
    ["drops trailing punctuation before the ellipsis", "alpha, beta gamma", 10, "alpha…"],
    ["cuts inside a single long word", "abcdefghij", 5, "abcd…"],
    ["counts code points, not UTF-16 units", "😀😀 😀😀 😀😀", 6, "😀😀 😀😀…"],
    ["returns the ellipsis alone for a limit of 1", "alpha beta", 1, "…"],
    ["returns an empty string for a limit below 1", "alpha", 0, ""],
    ["returns an empty string for a negative limit", "alpha", -5, ""],
  ])("%s", (_name, text, maxLength, expected) => {
    expect(trimToWordBoundary(text, maxLength)).toBe(expected);
  });
});
