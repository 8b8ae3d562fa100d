/** What the embedded artifact store does beyond the shared contract (conformance.ts covers that). */
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArtifactDigestError } from "../queue-errors.js";
import { createEmbeddedArtifacts } from "./embedded-artifacts.js";

describe("embedded artifacts", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "agentmesh-embedded-artifacts-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses to return bytes that no longer match their digest", async () => {
    const artifacts = await createEmbeddedArtifacts({ dir });
    const info = await artifacts.put(new TextEncoder().encode("original"), { mediaType: "text/plain" });
    writeFileSync(join(dir, "artifacts", `${info.id}.bin`), "tampered");
    const err = await artifacts.get(info.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactDigestError);
    expect(err).toMatchObject({ nonRetryable: true, id: info.id, expected: info.digest });
  });

  it("removes partial uploads left by a dead process when opened, and keeps recent ones", async () => {
    mkdirSync(join(dir, "artifacts"), { recursive: true });
    const stale = join(dir, "artifacts", ".tmp-old-upload");
    const recent = join(dir, "artifacts", ".tmp-live-upload");
    writeFileSync(stale, "partial");
    writeFileSync(recent, "partial");
    const old = new Date(Date.now() - 2 * 60 * 60_000);
    utimesSync(stale, old, old);
    await createEmbeddedArtifacts({ dir });
    expect([existsSync(stale), existsSync(recent)]).toEqual([false, true]);
  });

  it("answers undefined for ids that are not store ids", async () => {
    const artifacts = await createEmbeddedArtifacts({ dir });
    expect(await artifacts.get("../kv/entries")).toBeUndefined();
    expect(await artifacts.info("a/b")).toBeUndefined();
  });
});
