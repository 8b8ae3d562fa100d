import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PublishVerificationError } from "./publish-verification-error.js";
import { sha256Digest } from "./sha256-digest.js";
import { verifyOutboxFile } from "./verify-outbox-file.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "outbox-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("verifyOutboxFile", () => {
  it("returns the digest and size of a matching file", async () => {
    const path = join(root, "t.json");
    await writeFile(path, "abc");
    expect(await verifyOutboxFile(path, sha256Digest("abc"))).toEqual({ digest: sha256Digest("abc"), bytes: 3 });
  });

  it("throws a PublishVerificationError when the file changed", async () => {
    const path = join(root, "t.json");
    await writeFile(path, "tampered");
    await expect(verifyOutboxFile(path, sha256Digest("abc"))).rejects.toThrow(
      new PublishVerificationError(path, sha256Digest("abc"), sha256Digest("tampered")),
    );
    await expect(verifyOutboxFile(path, sha256Digest("abc"))).rejects.toMatchObject({
      name: "PublishVerificationError",
      message: `outbox file ${path} reads back as ${sha256Digest("tampered")}, expected ${sha256Digest("abc")}`,
      retryable: false,
    });
  });

  it("passes on ENOENT for a missing file", async () => {
    await expect(verifyOutboxFile(join(root, "missing.json"), sha256Digest(""))).rejects.toMatchObject({
      code: "ENOENT",
    });
  });
});
