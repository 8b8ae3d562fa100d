import { describe, expect, it } from "vitest";
import { sha256Digest } from "./sha256-digest.js";

describe("sha256Digest", () => {
  // FIPS 180-2 test vectors.
  it.each([
    ["", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  ])("digests %j", (text, expected) => {
    expect(sha256Digest(text)).toBe(expected);
    expect(sha256Digest(Buffer.from(text, "utf8"))).toBe(expected);
  });
});
