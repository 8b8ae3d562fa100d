import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Delivery } from "../queue-types.js";
import { useNatsBackends } from "./nats-test-backends.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** What a handler saw of one delivery. */
interface Seen {
  id: string;
  attempt: number;
  errors: readonly string[];
}

function seen(d: Delivery): Seen {
  return { id: d.id, attempt: d.attempt, errors: d.errors };
}

async function until<T>(probe: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs a consumer in a process of its own (test-hanging-consumer-main.ts) whose
 * handler never settles, SIGKILLs it once it took a delivery, and resolves to the
 * line it printed ("taken <id> <attempt>").
 */
async function takeAndDie(url: string, subject: string, ackWaitMs: number, maxDeliveries: number): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./test-hanging-consumer-main.ts", import.meta.url)), url, subject, String(ackWaitMs), String(maxDeliveries)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.startsWith("taken ")) return line;
    }
    throw new Error("the consumer process exited before it took a delivery");
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
}

describe("NATS task queue", () => {
  const { server, open } = useNatsBackends({ ackWaitMs: 1_000, maxDeliveries: 3, backoffMs: [50] });

  it("delivers a message once with its data and headers, and absorbs a second enqueue of its id", async () => {
    const { queue } = await open();
    expect(await queue.enqueue({ id: "t1", subject: "summarize.v1", data: bytes("hello"), headers: { "trace-id": "abc" } })).toEqual({ duplicate: false });
    expect(await queue.enqueue({ id: "t1", subject: "summarize.v1", data: bytes("again") })).toEqual({ duplicate: true });
    expect(await queue.depth("summarize.v1")).toBe(1);
    expect(await queue.depth()).toBe(1);
    const got: Array<{ id: string; subject: string; data: string; headers: Record<string, string>; attempt: number; errors: readonly string[] }> = [];
    const consumer = queue.consume("summarize.v1", async (d) => {
      got.push({ id: d.id, subject: d.subject, data: text(d.data), headers: { ...d.headers }, attempt: d.attempt, errors: d.errors });
      await d.ack();
    });
    await until(() => queue.depth("summarize.v1"), (n) => n === 0);
    await consumer.stop();
    expect(got).toEqual([{ id: "t1", subject: "summarize.v1", data: "hello", headers: { "trace-id": "abc" }, attempt: 1, errors: [] }]);
    expect(await queue.enqueue({ id: "t1", subject: "summarize.v1", data: bytes("late") })).toEqual({ duplicate: true });
    expect(await queue.depth()).toBe(0);
  });

  it("opens the same backend from several connections at once on a fresh server", async () => {
    const opened = await Promise.all([open(), open(), open({ ackWaitMs: 2_000 }), open({ maxDeliveries: 7 })]);
    expect(opened.map((b) => b.kind)).toEqual(["nats", "nats", "nats", "nats"]);
    await opened[0].queue.enqueue({ id: "o1", subject: "opened", data: bytes("") });
    expect(await opened[3].queue.depth("opened")).toBe(1);
  });

  it("counts depth per subject", async () => {
    const { queue } = await open();
    await queue.enqueue({ id: "a1", subject: "a", data: bytes("") });
    await queue.enqueue({ id: "a2", subject: "a", data: bytes("") });
    await queue.enqueue({ id: "b1", subject: "a.b", data: bytes("") });
    expect([await queue.depth("a"), await queue.depth("a.b"), await queue.depth("c"), await queue.depth()]).toEqual([2, 1, 0, 3]);
  });

  it("redelivers a nak'ed message with every earlier reason, then dead-letters it after the last attempt", async () => {
    const { queue } = await open();
    await queue.enqueue({ id: "t2", subject: "flaky", data: bytes("payload"), headers: { tenant: "acme" } });
    const got: Seen[] = [];
    const consumer = queue.consume("flaky", async (d) => {
      got.push(seen(d));
      await d.nak(`failure ${d.attempt}`);
    });
    const dead = await until(() => queue.deadLetters("flaky"), (l) => l.length === 1);
    await consumer.stop();
    expect(got).toEqual([
      { id: "t2", attempt: 1, errors: [] },
      { id: "t2", attempt: 2, errors: ["failure 1"] },
      { id: "t2", attempt: 3, errors: ["failure 1", "failure 2"] },
    ]);
    expect(dead).toEqual([
      { id: "t2", subject: "flaky", data: bytes("payload"), headers: { tenant: "acme" }, attempts: 3, errors: ["failure 1", "failure 2", "failure 3"], deadAt: expect.any(Number) as number },
    ]);
    expect(await queue.depth("flaky")).toBe(0);
    expect(await queue.deadLetters("other")).toEqual([]);
  });

  it("dead-letters at once on term, keeps a thrown error's message as a nak reason, and redrives with a fresh count", async () => {
    const { queue } = await open();
    await queue.enqueue({ id: "t3", subject: "strict", data: bytes("x") });
    const got: Seen[] = [];
    const consumer = queue.consume("strict", async (d) => {
      got.push(seen(d));
      if (d.attempt === 1) throw new Error("boom");
      await d.term("invalid input");
    });
    const [letter] = await until(() => queue.deadLetters(), (l) => l.length === 1);
    expect(letter).toMatchObject({ id: "t3", subject: "strict", attempts: 2, errors: ["boom", "invalid input"] });
    await consumer.stop();
    expect(got).toEqual([
      { id: "t3", attempt: 1, errors: [] },
      { id: "t3", attempt: 2, errors: ["boom"] },
    ]);

    expect(await queue.redrive("t3")).toBe(true);
    expect(await queue.redrive("t3")).toBe(false);
    expect(await queue.deadLetters()).toEqual([]);
    const again: Seen[] = [];
    const second = queue.consume("strict", async (d) => {
      again.push(seen(d));
      await d.ack();
    });
    await until(() => again.length, (n) => n === 1);
    await second.stop();
    expect(again).toEqual([{ id: "t3", attempt: 1, errors: [] }]);
    expect(await queue.depth("strict")).toBe(0);
  });

  it("redelivers to another consumer when a consumer dies mid-delivery, recording the lost attempt", async () => {
    const { queue } = await open();
    await queue.enqueue({ id: "t4", subject: "work", data: bytes("w") });
    expect(await takeAndDie(server().url, "work", 1_000, 3)).toBe("taken t4 1");

    const got: Seen[] = [];
    const consumer = queue.consume("work", async (d) => {
      got.push(seen(d));
      await d.ack();
    });
    await until(() => got.length, (n) => n === 1);
    await consumer.stop();
    expect(got).toEqual([{ id: "t4", attempt: 2, errors: ["consumer lost: no ack within 1000 ms"] }]);
  });

  it("dead-letters a message whose last allowed attempt was lost instead of leaving it stuck", async () => {
    const settings = { ackWaitMs: 1_000, maxDeliveries: 1, backoffMs: [50] };
    const { queue } = await open(settings);
    await queue.enqueue({ id: "t5", subject: "work", data: bytes("w") });
    expect(await takeAndDie(server().url, "work", 1_000, 1)).toBe("taken t5 1");

    const got: Seen[] = [];
    const consumer = queue.consume("work", async (d) => {
      got.push(seen(d));
      await d.ack();
    });
    const dead = await until(() => queue.deadLetters(), (l) => l.length === 1);
    await consumer.stop();
    expect(got).toEqual([]);
    expect(dead.map((l) => ({ id: l.id, attempts: l.attempts, errors: l.errors }))).toEqual([{ id: "t5", attempts: 1, errors: ["consumer lost: no ack within 1000 ms"] }]);
    expect(await queue.depth()).toBe(0);
  });

  it("loses no queued message when nats-server restarts, and a running consumer carries on", async () => {
    const { queue } = await open();
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const id of ids.slice(0, 10)) await queue.enqueue({ id, subject: "durable", data: bytes(id) });
    await server().restart();
    expect(await until(() => queue.depth("durable").catch(() => -1), (n) => n >= 0)).toBe(10);
    const got = new Set<string>();
    const consumer = queue.consume("durable", async (d) => {
      got.add(text(d.data));
      await d.ack();
    });
    await until(() => got.size, (n) => n === 10);
    server().kill("SIGKILL");
    await server().restart();
    for (const id of ids.slice(10)) await until(() => queue.enqueue({ id, subject: "durable", data: bytes(id) }).then(() => true, () => false), (ok) => ok);
    await until(() => got.size, (n) => n === 20);
    await consumer.stop();
    expect([...got].sort()).toEqual([...ids].sort());
    expect(await queue.depth()).toBe(0);
  });

  it("runs at most maxInFlight handlers at once, and stop() waits for the running ones", async () => {
    const { queue } = await open({ ackWaitMs: 5_000, maxDeliveries: 3, backoffMs: [50] });
    for (let i = 0; i < 6; i++) await queue.enqueue({ id: `m${i}`, subject: "bounded", data: bytes("") });
    let running = 0;
    let peak = 0;
    let acked = 0;
    const consumer = queue.consume(
      "bounded",
      async (d) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 150));
        running--;
        await d.ack();
        acked++;
      },
      { maxInFlight: 2 },
    );
    await until(() => acked, (n) => n >= 1);
    await consumer.stop();
    expect(running).toBe(0);
    expect(peak).toBe(2);
    const afterStop = acked;
    await new Promise((r) => setTimeout(r, 300));
    expect(acked).toBe(afterStop);
    expect(await queue.depth("bounded")).toBe(6 - afterStop);
  });

  it("shares each message between competing consumers of two connections, once each", async () => {
    const a = await open();
    const b = await open();
    for (let i = 0; i < 10; i++) await a.queue.enqueue({ id: `c${i}`, subject: "shared", data: bytes(`c${i}`) });
    const got: string[] = [];
    const handler = async (d: Delivery) => {
      got.push(d.id);
      await new Promise((r) => setTimeout(r, 20));
      await d.ack();
    };
    const ca = a.queue.consume("shared", handler);
    const cb = b.queue.consume("shared", handler);
    await until(() => got.length, (n) => n === 10);
    await Promise.all([ca.stop(), cb.stop()]);
    expect(got.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`).sort());
    expect(await a.queue.depth()).toBe(0);
  });

  it("gives a message enqueued after a consumer stopped to the next consumer at once", async () => {
    const { queue } = await open({ ackWaitMs: 30_000, maxDeliveries: 3, backoffMs: [50] });
    const first = queue.consume("handover", async (d) => d.ack());
    await new Promise((r) => setTimeout(r, 200));
    await first.stop();
    await queue.enqueue({ id: "h1", subject: "handover", data: bytes("") });
    const got: Seen[] = [];
    const second = queue.consume("handover", async (d) => {
      got.push(seen(d));
      await d.ack();
    });
    await until(() => got.length, (n) => n === 1, 3_000);
    await second.stop();
    expect(got).toEqual([{ id: "h1", attempt: 1, errors: [] }]);
  });

  it.each([["Upper"], ["a..b"], [""], ["a.*"], ["a b"]])("refuses the invalid subject %j", async (subject) => {
    const { queue } = await open();
    await expect(queue.enqueue({ id: "x", subject, data: bytes("") })).rejects.toMatchObject({ name: "InvalidSubjectError", nonRetryable: true });
  });
});
