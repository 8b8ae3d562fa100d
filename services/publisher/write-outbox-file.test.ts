import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PublishConflictError } from "./publish-conflict-error.js";
import { sha256Digest } from "./sha256-digest.js";
import { writeOutboxFile } from "./write-outbox-file.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "outbox-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("writeOutboxFile", () => {
  it("creates the directory and writes the file once, leaving no temporary file", async () => {
    const outbox = join(root, "nested", "outbox");
    expect(await writeOutboxFile(outbox, "t-1", "héllo\n")).toEqual({
      path: join(outbox, "t-1.json"),
      digest: sha256Digest("héllo\n"),
      bytes: 7,
      alreadyPublished: false,
    });
    expect(await readFile(join(outbox, "t-1.json"), "utf8")).toBe("héllo\n");
    expect(await readdir(outbox)).toEqual(["t-1.json"]);
  });

  it("leaves an identical file untouched and reports it as already published", async () => {
    const first = await writeOutboxFile(root, "t-1", "same");
    const before = await stat(first.path);
    const second = await writeOutboxFile(root, "t-1", "same");
    expect(second).toEqual({ ...first, alreadyPublished: true });
    expect((await stat(first.path)).mtimeMs).toBe(before.mtimeMs);
    expect(await readdir(root)).toEqual(["t-1.json"]);
  });

  it("throws a PublishConflictError and keeps the first file when the content differs", async () => {
    await writeOutboxFile(root, "t-1", "first");
    const path = join(root, "t-1.json");
    await expect(writeOutboxFile(root, "t-1", "second")).rejects.toThrow(
      new PublishConflictError("t-1", path, sha256Digest("first"), sha256Digest("second")),
    );
    await expect(writeOutboxFile(root, "t-1", "second")).rejects.toMatchObject({
      name: "PublishConflictError",
      message:
        `task "t-1" was already published with different content (${path} holds ` +
        `${sha256Digest("first")}, this publish would write ${sha256Digest("second")})`,
      retryable: false,
    });
    expect(await readFile(path, "utf8")).toBe("first");
    expect(await readdir(root)).toEqual(["t-1.json"]);
  });

  it("lets exactly one of two concurrent different publishes of a task win", async () => {
    const results = await Promise.allSettled([
      writeOutboxFile(root, "t-1", "one"),
      writeOutboxFile(root, "t-1", "two"),
    ]);
    const fulfilled = results.filter((result) => result.status === "fulfilled");
    const rejected = results.filter((result) => result.status === "rejected");
    expect([fulfilled.length, rejected.length]).toEqual([1, 1]);
    expect(rejected[0]?.reason).toBeInstanceOf(PublishConflictError);
    const winner = (fulfilled[0] as PromiseFulfilledResult<{ digest: string }>).value;
    expect(sha256Digest(await readFile(join(root, "t-1.json")))).toBe(winner.digest);
    expect(await readdir(root)).toEqual(["t-1.json"]);
  });

  it("writes once when the same content is published concurrently", async () => {
    const results = await Promise.all([
      writeOutboxFile(root, "t-1", "same"),
      writeOutboxFile(root, "t-1", "same"),
      writeOutboxFile(root, "t-1", "same"),
    ]);
    expect(results.map((result) => result.alreadyPublished).sort()).toEqual([false, true, true]);
    expect(await readdir(root)).toEqual(["t-1.json"]);
  });

  it("passes on the filesystem's error when the outbox is not a directory", async () => {
    const file = join(root, "not-a-directory");
    await writeFile(file, "x");
    await expect(writeOutboxFile(file, "t-1", "x")).rejects.toMatchObject({ code: "EEXIST" });
  });
});
