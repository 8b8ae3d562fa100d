import { describe, expect, it } from "vitest";
import type { KvChange } from "../queue-types.js";
import { useNatsBackends } from "./nats-test-backends.js";
import { natsKvKey } from "./nats-kv.js";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("natsKvKey", () => {
  it.each([
    ["result/t-1", "result/t-1"],
    ["a b", "a=20b"],
    ["x=y", "x=3dy"],
    [".hidden", "=2ehidden"],
    ["trailing.", "trailing=2e"],
    ["a..b", "a=2e.b"],
    ["..", "=2e=2e"],
    ["a.*.>", "a.=2a.=3e"],
  ])("stores %j as %j", (key, stored) => {
    expect(natsKvKey(key)).toBe(stored);
  });
});

describe("NATS KV store", () => {
  const { server, open } = useNatsBackends();

  it("round-trips keys with dots NATS would refuse, in keys() and get()", async () => {
    const { store } = await open();
    const keys = [".hidden", "trailing.", "a..b", "..", "ns/x.y"];
    for (const k of keys) await store.put(k, bytes(k));
    expect(await store.keys()).toEqual([...keys].sort());
    for (const k of keys) expect((await store.get(k))?.value).toEqual(bytes(k));
  });

  it("refuses an update at revision 0 and a create of a live key, and allows a create after delete", async () => {
    const { store } = await open();
    expect(await store.update("k", bytes("v"), 0)).toBeUndefined();
    const r1 = await store.create("k", bytes("v1"));
    expect(r1).toBe(1);
    expect(await store.create("k", bytes("v2"))).toBeUndefined();
    await store.delete("k");
    expect(await store.get("k")).toBeUndefined();
    expect(await store.keys()).toEqual([]);
    expect(await store.create("k", bytes("v3"))).toBe(3);
    expect(await store.get("k")).toEqual({ key: "k", value: bytes("v3"), revision: 3 });
  });

  it("reports a write made through the same store right after watch() returned, and nothing from before", async () => {
    const { store } = await open();
    await store.put("p/before", bytes("old"));
    const changes: KvChange[] = [];
    const stop = store.watch("p/", (c) => changes.push(c));
    const rev = await store.put("p/after", bytes("new"));
    await store.put("q/other", bytes("x"));
    const deadline = Date.now() + 5_000;
    while (changes.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    stop();
    expect(changes).toEqual([{ key: "p/after", value: bytes("new"), revision: rev }]);
  });

  it("keeps entries across a nats-server restart", async () => {
    const { store } = await open();
    const rev = await store.put("result/t1", bytes("done"));
    await server().restart();
    const reopened = await open();
    expect(await reopened.store.get("result/t1")).toEqual({ key: "result/t1", value: bytes("done"), revision: rev });
  });
});
