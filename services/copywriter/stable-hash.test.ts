import { describe, expect, it } from "vitest";
import { stableHash } from "./stable-hash.js";

describe("stableHash", () => {
  // Published FNV-1a 32-bit test vectors.
  it.each([
    ["", 0x811c9dc5],
    ["a", 0xe40c292c],
    ["foobar", 0xbf9cf968],
  ])("hashes %j to its FNV-1a value", (text, expected) => {
    expect(stableHash(text)).toBe(expected);
  });
});
