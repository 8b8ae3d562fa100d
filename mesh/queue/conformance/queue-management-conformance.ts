/** Conformance: redrive, dead-letter listing, depth, maxInFlight, stop, durability of the queue. */
import { describe, expect, it } from "vitest";
import type { Delivery } from "../queue-types.js";
import type { ConformanceContext, SeenDelivery } from "./conformance-support.js";
import { bytes, fast, seen, sleep, waitFor } from "./conformance-support.js";

/** Declares the queue management cases of the conformance suite. */
export function describeQueueManagementConformance(ctx: ConformanceContext): void {
  const { run, subject, open, openTracked, consume } = ctx;

  describe("queue management", () => {
    it("puts a dead letter back with a fresh attempt count on redrive", async () => {
      const b = await openTracked();
      const subj = subject("redrive");
      const id = `${run}-redrive`;
      await b.queue.enqueue({ id, subject: subj, data: bytes("again"), headers: { k: "v" } });
      const got: SeenDelivery[] = [];
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
      const got: SeenDelivery[] = [];
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
      const got: SeenDelivery[] = [];
      consume(b2, subj, async (d) => {
        got.push(seen(d));
        await d.ack();
      });
      await waitFor("delivery", () => got.length === 1);
      expect(got).toEqual([{ id: `${run}-durable`, subject: subj, data: "kept", headers: { a: "b" }, attempt: 1, errors: [] }]);
    });
  });
}
