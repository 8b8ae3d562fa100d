/**
 * The one conformance suite of the queue contracts (queue-types.ts), run unchanged
 * against every adapter: `describeQueueBackendConformance("embedded", open)`.
 *
 * `open(settings)` must open a backend on the SAME backing store every time it is
 * called (the same directory, the same NATS server and stream names), so that
 * durability across close/reopen and cross-instance behaviour (competing
 * consumers, a consumer that died, KV watch) can be tested. Tests keep apart by
 * unique subjects, ids, keys and prefixes (a random run token), so the store may
 * hold data from earlier tests and earlier runs.
 *
 * Timing: ack wait 1 s, back-off 100–300 ms; the suite takes a few seconds per
 * adapter. A consumer that dies is simulated by a handler that never settles and a
 * consumer that is stopped, its message then taken by a second backend instance.
 *
 * Test-only: imports vitest, so it is not part of the folder's public API.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { consumerLostReason } from "./queue-errors.js";
import type { Delivery, KvChange, QueueBackend, QueueConsumer, QueueSettings } from "./queue-types.js";

/** Opens a backend on the suite's shared backing store with these settings (adapter defaults when unset). */
export type OpenQueueBackend = (settings?: QueueSettings) => Promise<QueueBackend>;

/** The settings most tests run with: small enough for a fast suite, large enough for a loaded 2-core machine. */
const fast: QueueSettings = { ackWaitMs: 1000, maxDeliveries: 3, backoffMs: [100] };

const text = new TextEncoder();
const untext = new TextDecoder();
const bytes = (s: string): Uint8Array => text.encode(s);
const str = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : untext.decode(b));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 20 ms until it holds; throws after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A delivery as plain values, for whole-object assertions. */
function seen(d: Delivery): { id: string; subject: string; data: string | undefined; headers: Record<string, string>; attempt: number; errors: string[] } {
  return { id: d.id, subject: d.subject, data: str(d.data), headers: { ...d.headers }, attempt: d.attempt, errors: [...d.errors] };
}

/**
 * Declares the conformance suite of a queue backend adapter.
 *
 * @param name adapter name, shown in the suite title
 * @param open opens a backend on one shared backing store (see the file comment)
 */
export function describeQueueBackendConformance(name: string, open: OpenQueueBackend): void {
  describe(`queue backend conformance: ${name}`, () => {
    const run = randomBytes(4).toString("hex");
    let counter = 0;
    /** A subject no other test (or run) uses. */
    const subject = (label: string): string => `conf.${run}.${label}.${++counter}`;
    const backends: QueueBackend[] = [];
    const consumers: QueueConsumer[] = [];

    async function openTracked(settings: QueueSettings = fast): Promise<QueueBackend> {
      const backend = await open(settings);
      backends.push(backend);
      return backend;
    }

    function consume(backend: QueueBackend, subj: string, handler: (d: Delivery) => Promise<void>, maxInFlight?: number): QueueConsumer {
      const consumer = backend.queue.consume(subj, handler, maxInFlight === undefined ? undefined : { maxInFlight });
      consumers.push(consumer);
      return consumer;
    }

    afterEach(async () => {
      for (const c of consumers.splice(0)) await c.stop();
      for (const b of backends.splice(0)) await b.close();
    });

    describe("queue", () => {
      it("delivers an enqueued message with its data and headers, then forgets it on ack", async () => {
        const b = await openTracked();
        const subj = subject("basic");
        expect(await b.queue.enqueue({ id: `${run}-basic`, subject: subj, data: bytes("hello"), headers: { "x-trace": "t1" } })).toEqual({ duplicate: false });
        expect(await b.queue.depth(subj)).toBe(1);
        const got: ReturnType<typeof seen>[] = [];
        consume(b, subj, async (d) => {
          got.push(seen(d));
          await d.ack();
        });
        await waitFor("one delivery", () => got.length === 1);
        expect(got).toEqual([{ id: `${run}-basic`, subject: subj, data: "hello", headers: { "x-trace": "t1" }, attempt: 1, errors: [] }]);
        await waitFor("depth 0", async () => (await b.queue.depth(subj)) === 0);
        await sleep(300);
        expect(got.length).toBe(1);
      });

      it("delivers messages without headers with empty headers", async () => {
        const b = await openTracked();
        const subj = subject("noheaders");
        await b.queue.enqueue({ id: `${run}-nh`, subject: subj, data: new Uint8Array([0, 255, 7]) });
        const got: Delivery[] = [];
        consume(b, subj, async (d) => {
          got.push(d);
          await d.ack();
        });
        await waitFor("one delivery", () => got.length === 1);
        expect(got[0]?.headers).toEqual({});
        expect(Array.from(got[0]?.data ?? [])).toEqual([0, 255, 7]);
      });

      it("absorbs a second enqueue of an accepted id, before and after it was acked", async () => {
        const b = await openTracked();
        const subj = subject("dedup");
        const id = `${run}-dedup`;
        expect(await b.queue.enqueue({ id, subject: subj, data: bytes("first") })).toEqual({ duplicate: false });
        expect(await b.queue.enqueue({ id, subject: subj, data: bytes("second") })).toEqual({ duplicate: true });
        expect(await b.queue.depth(subj)).toBe(1);
        const got: string[] = [];
        consume(b, subj, async (d) => {
          got.push(str(d.data) ?? "");
          await d.ack();
        });
        await waitFor("depth 0", async () => got.length === 1 && (await b.queue.depth(subj)) === 0);
        expect(await b.queue.enqueue({ id, subject: subj, data: bytes("third") })).toEqual({ duplicate: true });
        await sleep(300);
        expect(got).toEqual(["first"]);
        expect(await b.queue.depth(subj)).toBe(0);
      });

      it("gives each message to exactly one of several competing consumers, across instances", async () => {
        const b1 = await openTracked();
        const b2 = await openTracked();
        const subj = subject("compete");
        const handled = new Map<string, string[]>();
        const handler = (who: string) => async (d: Delivery): Promise<void> => {
          handled.set(d.id, [...(handled.get(d.id) ?? []), who]);
          await sleep(5);
          await d.ack();
        };
        consume(b1, subj, handler("a"), 2);
        consume(b1, subj, handler("b"), 2);
        consume(b2, subj, handler("c"), 2);
        const ids = Array.from({ length: 30 }, (_, i) => `${run}-c${i}`);
        for (const id of ids) await b1.queue.enqueue({ id, subject: subj, data: bytes(id) });
        await waitFor("30 handled", () => handled.size === 30, 10_000);
        await sleep(300);
        expect([...handled.keys()].sort()).toEqual([...ids].sort());
        expect([...handled.values()].map((who) => who.length)).toEqual(ids.map(() => 1));
        expect(await b1.queue.depth(subj)).toBe(0);
      });

      it("redelivers a nak'ed message after the given delay with the attempt and the reasons so far", async () => {
        const b = await openTracked();
        const subj = subject("nak");
        await b.queue.enqueue({ id: `${run}-nak`, subject: subj, data: bytes("x") });
        const got: { d: ReturnType<typeof seen>; at: number }[] = [];
        consume(b, subj, async (d) => {
          got.push({ d: seen(d), at: Date.now() });
          if (d.attempt === 1) await d.nak("busy", 400);
          else await d.ack();
        });
        await waitFor("two deliveries", () => got.length === 2);
        expect(got.map((g) => g.d)).toEqual([
          { id: `${run}-nak`, subject: subj, data: "x", headers: {}, attempt: 1, errors: [] },
          { id: `${run}-nak`, subject: subj, data: "x", headers: {}, attempt: 2, errors: ["busy"] },
        ]);
        const gap = (got[1]?.at ?? 0) - (got[0]?.at ?? 0);
        expect(gap).toBeGreaterThanOrEqual(350);
        expect(gap).toBeLessThan(3000);
      });

      it("waits the configured back-off when nak gives no delay", async () => {
        const b = await openTracked({ ...fast, backoffMs: [300] });
        const subj = subject("backoff");
        await b.queue.enqueue({ id: `${run}-backoff`, subject: subj, data: bytes("x") });
        const at: number[] = [];
        consume(b, subj, async (d) => {
          at.push(Date.now());
          if (d.attempt === 1) await d.nak("later");
          else await d.ack();
        });
        await waitFor("two deliveries", () => at.length === 2);
        const gap = (at[1] ?? 0) - (at[0] ?? 0);
        expect(gap).toBeGreaterThanOrEqual(250);
        expect(gap).toBeLessThan(3000);
      });

      it("naks with the error's message when the handler throws", async () => {
        const b = await openTracked();
        const subj = subject("throws");
        await b.queue.enqueue({ id: `${run}-throws`, subject: subj, data: bytes("x") });
        const got: ReturnType<typeof seen>[] = [];
        consume(b, subj, async (d) => {
          got.push(seen(d));
          if (d.attempt === 1) throw new Error("handler exploded");
          await d.ack();
        });
        await waitFor("two deliveries", () => got.length === 2);
        expect(got.map((d) => [d.attempt, d.errors])).toEqual([
          [1, []],
          [2, ["handler exploded"]],
        ]);
      });

      it("dead-letters a message after maxDeliveries failed attempts, keeping every reason", async () => {
        const b = await openTracked();
        const subj = subject("dead");
        const before = Date.now();
        await b.queue.enqueue({ id: `${run}-dead`, subject: subj, data: bytes("payload"), headers: { h: "v" } });
        const attempts: number[] = [];
        consume(b, subj, async (d) => {
          attempts.push(d.attempt);
          await d.nak(`failure ${d.attempt}`, 50);
        });
        await waitFor("a dead letter", async () => (await b.queue.deadLetters(subj)).length === 1);
        await sleep(300);
        expect(attempts).toEqual([1, 2, 3]);
        const dead = await b.queue.deadLetters(subj);
        expect(dead.map((x) => ({ ...x, data: str(x.data), deadAt: 0 }))).toEqual([
          { id: `${run}-dead`, subject: subj, data: "payload", headers: { h: "v" }, attempts: 3, errors: ["failure 1", "failure 2", "failure 3"], deadAt: 0 },
        ]);
        expect(dead[0]?.deadAt).toBeGreaterThanOrEqual(before);
        expect(dead[0]?.deadAt).toBeLessThanOrEqual(Date.now());
        expect(await b.queue.depth(subj)).toBe(0);
      });

      it("dead-letters at once on term, with the earlier reasons and this one last", async () => {
        const b = await openTracked();
        const subj = subject("term");
        await b.queue.enqueue({ id: `${run}-term`, subject: subj, data: bytes("x") });
        const attempts: number[] = [];
        consume(b, subj, async (d) => {
          attempts.push(d.attempt);
          if (d.attempt === 1) await d.nak("transient", 50);
          else await d.term("bad input");
        });
        await waitFor("a dead letter", async () => (await b.queue.deadLetters(subj)).length === 1);
        await sleep(200);
        expect(attempts).toEqual([1, 2]);
        const dead = await b.queue.deadLetters(subj);
        expect(dead.map((x) => [x.id, x.attempts, x.errors])).toEqual([[`${run}-term`, 2, ["transient", "bad input"]]]);
        expect(await b.queue.depth(subj)).toBe(0);
      });

      it("redelivers to another instance after the ack wait when a consumer never settles", async () => {
        const b1 = await openTracked();
        const subj = subject("lost");
        await b1.queue.enqueue({ id: `${run}-lost`, subject: subj, data: bytes("x") });
        let firstAt = 0;
        const first = consume(b1, subj, (d) => {
          expect(d.attempt).toBe(1);
          firstAt = Date.now();
          // Returns without settling: the consumer "died" holding the message.
          return Promise.resolve();
        });
        await waitFor("first delivery", () => firstAt > 0);
        await first.stop();
        expect(await b1.queue.depth(subj)).toBe(1);
        const b2 = await openTracked();
        const got: { d: ReturnType<typeof seen>; at: number }[] = [];
        consume(b2, subj, async (d) => {
          got.push({ d: seen(d), at: Date.now() });
          await d.ack();
        });
        await waitFor("redelivery", () => got.length === 1, 6000);
        expect(got[0]?.d).toEqual({ id: `${run}-lost`, subject: subj, data: "x", headers: {}, attempt: 2, errors: [consumerLostReason(1000)] });
        // The ack wait runs from the delivery, a little before the handler saw it.
        expect((got[0]?.at ?? 0) - firstAt).toBeGreaterThanOrEqual(700);
        await waitFor("depth 0", async () => (await b2.queue.depth(subj)) === 0);
      });

      it("dead-letters a message whose consumers keep dying, counting each lost attempt", async () => {
        const b = await openTracked({ ackWaitMs: 500, maxDeliveries: 2, backoffMs: [50] });
        const subj = subject("lostdead");
        await b.queue.enqueue({ id: `${run}-lostdead`, subject: subj, data: bytes("x") });
        const attempts: number[] = [];
        consume(b, subj, (d) => {
          attempts.push(d.attempt);
          return Promise.resolve();
        });
        await waitFor("a dead letter", async () => (await b.queue.deadLetters(subj)).length === 1, 8000);
        expect(attempts).toEqual([1, 2]);
        const dead = await b.queue.deadLetters(subj);
        expect(dead.map((x) => [x.attempts, x.errors])).toEqual([[2, [consumerLostReason(500), consumerLostReason(500)]]]);
      });

      it("does not redeliver while the consumer keeps calling working()", async () => {
        const b1 = await openTracked();
        const b2 = await openTracked();
        const subj = subject("working");
        await b1.queue.enqueue({ id: `${run}-working`, subject: subj, data: bytes("x") });
        const attempts: number[] = [];
        const handler = async (d: Delivery): Promise<void> => {
          attempts.push(d.attempt);
          for (let i = 0; i < 8; i++) {
            await sleep(300);
            await d.working();
          }
          await d.ack();
        };
        consume(b1, subj, handler);
        consume(b2, subj, handler);
        await waitFor("depth 0", async () => (await b1.queue.depth(subj)) === 0, 8000);
        await sleep(300);
        expect(attempts).toEqual([1]);
      });

      it("puts a dead letter back with a fresh attempt count on redrive", async () => {
        const b = await openTracked();
        const subj = subject("redrive");
        const id = `${run}-redrive`;
        await b.queue.enqueue({ id, subject: subj, data: bytes("again"), headers: { k: "v" } });
        const got: ReturnType<typeof seen>[] = [];
        let fixed = false;
        consume(b, subj, async (d) => {
          got.push(seen(d));
          if (fixed) await d.ack();
          else await d.term("not yet");
        });
        await waitFor("a dead letter", async () => (await b.queue.deadLetters(subj)).length === 1);
        expect(await b.queue.depth(subj)).toBe(0);
        fixed = true;
        expect(await b.queue.redrive(id)).toBe(true);
        await waitFor("redelivery", () => got.length === 2);
        expect(got).toEqual([
          { id, subject: subj, data: "again", headers: { k: "v" }, attempt: 1, errors: [] },
          { id, subject: subj, data: "again", headers: { k: "v" }, attempt: 1, errors: [] },
        ]);
        await waitFor("depth 0", async () => (await b.queue.depth(subj)) === 0);
        expect(await b.queue.deadLetters(subj)).toEqual([]);
        expect(await b.queue.redrive(id)).toBe(false);
        expect(await b.queue.redrive(`${run}-no-such-message`)).toBe(false);
      });

      it("redrives with a replacement body when one is given", async () => {
        const b = await openTracked();
        const subj = subject("redrivebody");
        const id = `${run}-redrive-body`;
        await b.queue.enqueue({ id, subject: subj, data: bytes("stale credentials"), headers: { k: "v" } });
        const got: ReturnType<typeof seen>[] = [];
        consume(b, subj, async (d) => {
          got.push(seen(d));
          if (d.attempt === 1 && got.length === 1) await d.term("expired");
          else await d.ack();
        });
        await waitFor("a dead letter", async () => (await b.queue.deadLetters(subj)).length === 1);
        expect(await b.queue.redrive(id, bytes("fresh credentials"))).toBe(true);
        await waitFor("redelivery", () => got.length === 2);
        expect(got[1]).toEqual({ id, subject: subj, data: "fresh credentials", headers: { k: "v" }, attempt: 1, errors: [] });
        await waitFor("depth 0", async () => (await b.queue.depth(subj)) === 0);
        expect(await b.queue.deadLetters(subj)).toEqual([]);
      });

      it("lists dead letters oldest first, of one subject or of all", async () => {
        const b = await openTracked();
        const s1 = subject("dl1");
        const s2 = subject("dl2");
        const terminate = (d: Delivery): Promise<void> => d.term(`no ${d.id}`);
        consume(b, s1, terminate);
        consume(b, s2, terminate);
        await b.queue.enqueue({ id: `${run}-dl-a`, subject: s1, data: bytes("a") });
        await waitFor("first dead letter", async () => (await b.queue.deadLetters(s1)).length === 1);
        await sleep(20);
        await b.queue.enqueue({ id: `${run}-dl-b`, subject: s2, data: bytes("b") });
        await waitFor("second dead letter", async () => (await b.queue.deadLetters(s2)).length === 1);
        await sleep(20);
        await b.queue.enqueue({ id: `${run}-dl-c`, subject: s1, data: bytes("c") });
        await waitFor("third dead letter", async () => (await b.queue.deadLetters(s1)).length === 2);
        expect((await b.queue.deadLetters(s1)).map((x) => x.id)).toEqual([`${run}-dl-a`, `${run}-dl-c`]);
        const mine = (await b.queue.deadLetters()).filter((x) => x.id.startsWith(`${run}-dl-`));
        expect(mine.map((x) => [x.id, x.subject, x.errors])).toEqual([
          [`${run}-dl-a`, s1, [`no ${run}-dl-a`]],
          [`${run}-dl-b`, s2, [`no ${run}-dl-b`]],
          [`${run}-dl-c`, s1, [`no ${run}-dl-c`]],
        ]);
      });

      it("counts depth per subject and over all subjects", async () => {
        const b = await openTracked();
        const s1 = subject("depth1");
        const s2 = subject("depth2");
        const before = await b.queue.depth();
        for (let i = 0; i < 3; i++) await b.queue.enqueue({ id: `${run}-d1-${i}`, subject: s1, data: bytes("x") });
        for (let i = 0; i < 2; i++) await b.queue.enqueue({ id: `${run}-d2-${i}`, subject: s2, data: bytes("x") });
        expect([await b.queue.depth(s1), await b.queue.depth(s2), (await b.queue.depth()) - before]).toEqual([3, 2, 5]);
        consume(b, s1, async (d) => d.ack());
        await waitFor("s1 drained", async () => (await b.queue.depth(s1)) === 0);
        expect([await b.queue.depth(s1), await b.queue.depth(s2), (await b.queue.depth()) - before]).toEqual([0, 2, 2]);
      });

      it.each([
        [undefined, 1],
        [3, 3],
      ])("runs at most maxInFlight=%s handlers at once (%s)", async (maxInFlight, expected) => {
        const b = await openTracked();
        const subj = subject("inflight");
        for (let i = 0; i < 8; i++) await b.queue.enqueue({ id: `${run}-if${maxInFlight ?? "d"}-${i}`, subject: subj, data: bytes("x") });
        let running = 0;
        let most = 0;
        let done = 0;
        consume(
          b,
          subj,
          async (d) => {
            running++;
            most = Math.max(most, running);
            await sleep(100);
            running--;
            await d.ack();
            done++;
          },
          maxInFlight,
        );
        await waitFor("8 handled", () => done === 8, 8000);
        expect(most).toBe(expected);
      });

      it("waits for running handlers on stop", async () => {
        const b = await openTracked();
        const subj = subject("stop");
        await b.queue.enqueue({ id: `${run}-stop`, subject: subj, data: bytes("x") });
        let started = false;
        let finished = false;
        const c = consume(b, subj, async (d) => {
          started = true;
          await sleep(300);
          await d.ack();
          finished = true;
        });
        await waitFor("handler started", () => started);
        await c.stop();
        expect(finished).toBe(true);
        expect(await b.queue.depth(subj)).toBe(0);
      });

      it("keeps accepted messages across close and reopen", async () => {
        const b1 = await open(fast);
        const subj = subject("durable");
        await b1.queue.enqueue({ id: `${run}-durable`, subject: subj, data: bytes("kept"), headers: { a: "b" } });
        await b1.close();
        const b2 = await openTracked();
        expect(await b2.queue.depth(subj)).toBe(1);
        expect(await b2.queue.enqueue({ id: `${run}-durable`, subject: subj, data: bytes("again") })).toEqual({ duplicate: true });
        const got: ReturnType<typeof seen>[] = [];
        consume(b2, subj, async (d) => {
          got.push(seen(d));
          await d.ack();
        });
        await waitFor("delivery", () => got.length === 1);
        expect(got).toEqual([{ id: `${run}-durable`, subject: subj, data: "kept", headers: { a: "b" }, attempt: 1, errors: [] }]);
      });
    });

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

    describe("artifacts", () => {
      const sha = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

      it("stores bytes by id with digest, size and media type", async () => {
        const { artifacts } = await openTracked();
        const data = bytes("artifact body");
        const before = Date.now();
        const info = await artifacts.put(data, { mediaType: "text/plain" });
        expect(info.id).toMatch(/^[A-Za-z0-9_-]+$/);
        expect({ ...info, id: "", createdAt: 0 }).toEqual({ id: "", digest: sha(data), size: data.length, mediaType: "text/plain", createdAt: 0 });
        expect(info.createdAt).toBeGreaterThanOrEqual(before);
        expect(info.createdAt).toBeLessThanOrEqual(Date.now());
        expect(await artifacts.info(info.id)).toEqual(info);
        const got = await artifacts.get(info.id);
        expect(got?.info).toEqual(info);
        expect(str(got?.data)).toBe("artifact body");
        const other = await artifacts.put(data, { mediaType: "text/plain" });
        expect(other.id).not.toBe(info.id);
      });

      it("stores a stream of chunks", async () => {
        const { artifacts } = await openTracked();
        const chunks = [bytes("a".repeat(70_000)), bytes("b".repeat(70_000)), bytes("c")];
        async function* stream(): AsyncIterable<Uint8Array> {
          for (const c of chunks) {
            await sleep(1);
            yield c;
          }
        }
        const all = Buffer.concat(chunks);
        const info = await artifacts.put(stream(), { mediaType: "application/octet-stream", maxBytes: all.length });
        expect([info.size, info.digest]).toEqual([all.length, sha(all)]);
        const got = await artifacts.get(info.id);
        expect(Buffer.from(got?.data ?? new Uint8Array()).equals(all)).toBe(true);
      });

      it.each([
        ["bytes", false],
        ["a stream", true],
      ])("refuses %s over maxBytes with a non-retryable error", async (_label, streamed) => {
        const { artifacts } = await openTracked();
        const data = bytes("x".repeat(101));
        async function* stream(): AsyncIterable<Uint8Array> {
          yield data.subarray(0, 60);
          await sleep(1);
          yield data.subarray(60);
        }
        await expect(artifacts.put(streamed ? stream() : data, { mediaType: "text/plain", maxBytes: 100 })).rejects.toMatchObject({
          name: "ArtifactTooLargeError",
          nonRetryable: true,
        });
        const ok = await artifacts.put(data.subarray(0, 100), { mediaType: "text/plain", maxBytes: 100 });
        expect(ok.size).toBe(100);
      });

      it("answers undefined for unknown and deleted artifacts", async () => {
        const { artifacts } = await openTracked();
        expect(await artifacts.info(`nope${run}`)).toBeUndefined();
        expect(await artifacts.get(`nope${run}`)).toBeUndefined();
        const info = await artifacts.put(bytes("bye"), { mediaType: "text/plain" });
        await artifacts.delete(info.id);
        expect(await artifacts.info(info.id)).toBeUndefined();
        expect(await artifacts.get(info.id)).toBeUndefined();
      });

      it("keeps artifacts across close and reopen", async () => {
        const b1 = await open(fast);
        const info = await b1.artifacts.put(bytes("kept"), { mediaType: "text/plain" });
        await b1.close();
        const b2 = await openTracked();
        const got = await b2.artifacts.get(info.id);
        expect(got?.info).toEqual(info);
        expect(str(got?.data)).toBe("kept");
      });
    });
  });
}
