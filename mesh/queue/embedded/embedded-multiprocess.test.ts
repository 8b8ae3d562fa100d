/**
 * The embedded backend shared by several processes on one directory: three
 * worker processes compete for one subject while this process enqueues; every
 * message is handled exactly once, and the message of a worker killed with
 * SIGKILL mid-handler is redelivered to another worker after the ack wait.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { consumerLostReason } from "../queue-errors.js";
import type { QueueBackend } from "../queue-types.js";
import { openEmbeddedBackend } from "./embedded-backend.js";
import type { ConsumerEvent } from "./test-consumer-main.js";

const ackWaitMs = 1500;
const script = join(import.meta.dirname, "test-consumer-main.ts");

type SeenEvent = ConsumerEvent & { seenAt: number };

describe("embedded backend across processes", () => {
  const children: ChildProcess[] = [];
  let backend: QueueBackend | undefined;
  let dir = "";

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await backend?.close();
    backend = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function startWorker(subject: string, events: SeenEvent[]): ChildProcess {
    const child = spawn(process.execPath, ["--import", "tsx", script, dir, subject, String(ackWaitMs)], { stdio: ["ignore", "pipe", "inherit"] });
    createInterface({ input: child.stdout }).on("line", (line) => events.push({ ...(JSON.parse(line) as ConsumerEvent), seenAt: Date.now() }));
    children.push(child);
    return child;
  }

  async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("hands each message to exactly one worker and redelivers a killed worker's message to another", async () => {
    dir = mkdtempSync(join(tmpdir(), "agentmesh-embedded-mp-"));
    backend = await openEmbeddedBackend(dir, { ackWaitMs, maxDeliveries: 3, backoffMs: [50] });
    const subject = "work.multiprocess";
    const events: SeenEvent[] = [];
    const workers = [startWorker(subject, events), startWorker(subject, events), startWorker(subject, events)];
    await waitFor("3 workers ready", () => events.filter((e) => e.event === "ready").length === 3, 20_000);

    const ids = Array.from({ length: 60 }, (_, i) => `task-${String(i).padStart(2, "0")}`);
    for (const id of ids.slice(0, 30)) expect(await backend.queue.enqueue({ id, subject, data: new TextEncoder().encode("work") })).toEqual({ duplicate: false });
    await backend.queue.enqueue({ id: "task-hang", subject, data: new TextEncoder().encode("hang") });
    for (const id of ids.slice(30)) await backend.queue.enqueue({ id, subject, data: new TextEncoder().encode("work") });

    await waitFor("the hanging message to start", () => events.some((e) => e.event === "start" && e.id === "task-hang"), 10_000);
    const holder = events.find((e) => e.event === "start" && e.id === "task-hang")?.pid;
    const victim = workers.find((w) => w.pid === holder);
    expect(victim).toBeDefined();
    victim?.kill("SIGKILL");
    const killedAt = Date.now();

    const done = (): SeenEvent[] => events.filter((e) => e.event === "done");
    await waitFor("every message done", () => done().length === ids.length + 1, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(done().map((e) => e.id).sort()).toEqual([...ids, "task-hang"].sort());
    const starts = events.filter((e) => e.event === "start");
    expect(starts.filter((e) => e.id !== "task-hang").map((e) => [e.id, e.attempt])).toEqual(
      expect.arrayContaining(ids.map((id) => [id, 1])),
    );
    expect(starts.filter((e) => e.id !== "task-hang").length).toBe(ids.length);
    const hang = starts.filter((e) => e.id === "task-hang");
    expect(hang.map((e) => ({ attempt: e.attempt, errors: e.errors, byVictim: e.pid === holder }))).toEqual([
      { attempt: 1, errors: [], byVictim: true },
      { attempt: 2, errors: [consumerLostReason(ackWaitMs)], byVictim: false },
    ]);
    // The survivors shared the work, and the killed one's message waited out its lease.
    expect(new Set(done().map((e) => e.pid)).size).toBeGreaterThanOrEqual(2);
    expect((hang[1]?.seenAt ?? 0) - killedAt).toBeGreaterThanOrEqual(ackWaitMs - 1000);
    expect(await backend.queue.depth(subject)).toBe(0);
    expect(await backend.queue.deadLetters(subject)).toEqual([]);
  }, 60_000);
});
