/** Conformance: the KV store (CAS, keys, watch across instances, durability). */
import { describe, expect, it } from "vitest";
import type { KvChange } from "../queue-types.js";
import type { ConformanceContext } from "./conformance-support.js";
import { bytes, fast, sleep, str, waitFor } from "./conformance-support.js";

/** Declares the kv cases of the conformance suite. */
export function describeKvConformance(ctx: ConformanceContext): void {
  const { run, open, openTracked } = ctx;

  describe("kv", () => {
    it("creates only when absent and updates only at the current revision", async () => {
      const { store } = await openTracked();
      const key = `result/${run}-cas`;
      expect(await store.get(key)).toBeUndefined();
      const r1 = await store.create(key, bytes("one"));
      expect(typeof r1).toBe("number");
      expect(await store.create(key, bytes("other"))).toBeUndefined();
      expect(await store.update(key, bytes("stale"), (r1 ?? 0) + 100)).toBeUndefined();
      const r2 = await store.update(key, bytes("two"), r1 ?? 0);
      expect(r2).toBeGreaterThan(r1 ?? 0);
      expect(await store.update(key, bytes("stale"), r1 ?? 0)).toBeUndefined();
      const got = await store.get(key);
      expect({ ...got, value: str(got?.value) }).toEqual({ key, value: "two", revision: r2 });
      const r3 = await store.put(key, bytes("three"));
      expect(r3).toBeGreaterThan(r2 ?? 0);
      await store.delete(key);
      expect(await store.get(key)).toBeUndefined();
      expect(await store.update(key, bytes("gone"), r3)).toBeUndefined();
      const r4 = await store.create(key, bytes("four"));
      expect(r4).toBeGreaterThan(r3);
      const again = await store.get(key);
      expect({ ...again, value: str(again?.value) }).toEqual({ key, value: "four", revision: r4 });
    });

    it("lets exactly one of many concurrent creates win", async () => {
      const b1 = await openTracked();
      const b2 = await openTracked();
      const key = `claim/${run}-race`;
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? b1 : b2).store.create(key, bytes(`w${i}`))));
      expect(results.filter((r) => r !== undefined).length).toBe(1);
    });

    it("lists live keys by prefix, sorted, for keys with any printable characters", async () => {
      const { store } = await openTracked();
      const p = `ns-${run}/`;
      const keys = [`${p}b:2`, `${p}a:1`, `${p}a b`, `${p}x=y%z`, `${p}sub/dir.key`, `${p}~!@#$^&*()+{}[]|"'<>?,;`];
      for (const k of keys) await store.put(k, bytes(k));
      await store.put(`other-${run}/a`, bytes("x"));
      await store.put(`${p}deleted`, bytes("x"));
      await store.delete(`${p}deleted`);
      expect(await store.keys(p)).toEqual([...keys].sort());
      expect(await store.keys(`${p}a`)).toEqual([`${p}a b`, `${p}a:1`]);
      for (const k of keys) expect(str((await store.get(k))?.value)).toBe(k);
      expect((await store.keys()).filter((k) => k.startsWith(p))).toEqual([...keys].sort());
    });

    it("tells a watcher about writes and deletes made by another instance, in order", async () => {
      const b1 = await openTracked();
      const b2 = await openTracked();
      const p = `watch-${run}/`;
      const changes: KvChange[] = [];
      const stop = b1.store.watch(p, (c) => changes.push(c));
      await sleep(100);
      const r1 = await b2.store.put(`${p}k:1`, bytes("v1"));
      const t1 = Date.now();
      await waitFor("first change", () => changes.length >= 1, 2000);
      expect(Date.now() - t1).toBeLessThan(1000);
      await b2.store.put(`elsewhere-${run}/k`, bytes("ignored"));
      const r2 = await b2.store.put(`${p}k:1`, bytes("v2"));
      await b2.store.delete(`${p}k:1`);
      await waitFor("three changes", () => changes.length >= 3, 2000);
      await sleep(200);
      expect(changes.map((c) => ({ key: c.key, value: str(c.value) }))).toEqual([
        { key: `${p}k:1`, value: "v1" },
        { key: `${p}k:1`, value: "v2" },
        { key: `${p}k:1`, value: undefined },
      ]);
      expect(changes.slice(0, 2).map((c) => c.revision)).toEqual([r1, r2]);
      expect(changes[2]?.revision).toBeGreaterThan(r2);
      stop();
      await b2.store.put(`${p}k:2`, bytes("after stop"));
      await sleep(300);
      expect(changes.length).toBe(3);
    });

    it("keeps entries across close and reopen", async () => {
      const b1 = await open(fast);
      const key = `result/${run}-durable`;
      const rev = await b1.store.put(key, bytes("kept"));
      await b1.close();
      const b2 = await openTracked();
      const got = await b2.store.get(key);
      expect({ ...got, value: str(got?.value) }).toEqual({ key, value: "kept", revision: rev });
    });
  });
}
