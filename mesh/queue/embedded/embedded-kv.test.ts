/** What the embedded KV store does beyond the shared contract (conformance.ts covers that). */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidKeyError } from "../queue-errors.js";
import type { KvChange, KvStore } from "../queue-types.js";
import { createEmbeddedKv } from "./embedded-kv.js";

describe("embedded kv", () => {
  let dir = "";
  let store: KvStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "agentmesh-embedded-kv-"));
    store = await createEmbeddedKv({ dir });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps keys too long for a file name (stored under a hash)", async () => {
    const long = `result/${"%".repeat(249)}`;
    expect(long.length).toBe(256);
    expect(await store.put(long, new Uint8Array([7]))).toBe(1);
    expect(await store.get(long)).toEqual({ key: long, value: new Uint8Array([7]), revision: 1 });
    expect(await store.keys("result/")).toEqual([long]);
  });

  it("numbers revisions per key from 1, across a delete", async () => {
    expect(await store.put("a", new Uint8Array())).toBe(1);
    expect(await store.put("a", new Uint8Array())).toBe(2);
    expect(await store.put("b", new Uint8Array())).toBe(1);
    await store.delete("a");
    expect(await store.create("a", new Uint8Array())).toBe(4);
  });

  it("keeps watchers of another instance in step while the change log moves to new segments", async () => {
    const writer = await createEmbeddedKv({ dir, logSegmentBytes: 300 });
    const changes: KvChange[] = [];
    const stop = store.watch("w/", (c) => changes.push(c));
    try {
      const expected: [string, string | undefined, number][] = [];
      for (let i = 0; i < 40; i++) {
        const key = `w/${i % 4}`;
        if (i % 10 === 9) {
          await writer.delete(key);
          expected.push([key, undefined, Math.floor(i / 4) + 1]);
        } else {
          const revision = await writer.put(key, new TextEncoder().encode(`v${i}`));
          expected.push([key, `v${i}`, revision]);
        }
      }
      const deadline = Date.now() + 5000;
      while (changes.length < 40 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(changes.map((c) => [c.key, c.value && new TextDecoder().decode(c.value), c.revision])).toEqual(expected);
      expect(readdirSync(join(dir, "kv", "changes")).length).toBeGreaterThan(3);
    } finally {
      stop();
      await writer.close();
    }
  });

  it.each([[""], ["x".repeat(257)], ["tab\there"], ["é"]])("refuses key %j", async (key) => {
    await expect(store.put(key, new Uint8Array())).rejects.toBeInstanceOf(InvalidKeyError);
  });
});
