/** What the embedded KV store does beyond the shared contract (conformance.ts covers that). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidKeyError } from "../queue-errors.js";
import type { KvStore } from "../queue-types.js";
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

  it.each([[""], ["x".repeat(257)], ["tab\there"], ["é"]])("refuses key %j", async (key) => {
    await expect(store.put(key, new Uint8Array())).rejects.toBeInstanceOf(InvalidKeyError);
  });
});
