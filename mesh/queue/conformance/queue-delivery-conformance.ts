/** Conformance: delivery, dedup, competing consumers, nak, dead letters, lost consumers, working(). */
import { describe, expect, it } from "vitest";
import { consumerLostReason } from "../queue-errors.js";
import type { Delivery } from "../queue-types.js";
import type { ConformanceContext, SeenDelivery } from "./conformance-support.js";
import { bytes, fast, seen, sleep, str, waitFor } from "./conformance-support.js";

/** Declares the queue delivery cases of the conformance suite. */
export function describeQueueDeliveryConformance(ctx: ConformanceContext): void {
  const { run, subject, openTracked, consume } = ctx;

  describe("queue delivery", () => {
    it("delivers an enqueued message with its data and headers, then forgets it on ack", async () => {
      const b = await openTracked();
      const subj = subject("basic");
      expect(await b.queue.enqueue({ id: `${run}-basic`, subject: subj, data: bytes("hello"), headers: { "x-trace": "t1" } })).toEqual({ duplicate: false });
      expect(await b.queue.depth(subj)).toBe(1);
      const got: SeenDelivery[] = [];
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
      const got: { d: SeenDelivery; at: number }[] = [];
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
      const got: SeenDelivery[] = [];
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
      const got: { d: SeenDelivery; at: number }[] = [];
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
  });
}
