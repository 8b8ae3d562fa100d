/** What the embedded queue does beyond the shared contract (conformance.ts covers that). */
import { mkdtempSync, rmSync } from "node:fs";
import { utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidSubjectError } from "../queue-errors.js";
import type { QueueBackend } from "../queue-types.js";
import { openEmbeddedBackend } from "./embedded-backend.js";
import type { EmbeddedQueueSettings } from "./embedded-settings.js";
import { messageKey } from "./queue-files.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const data = new Uint8Array([1]);

describe("embedded queue", () => {
  let dir = "";
  const backends: QueueBackend[] = [];
  const open = async (settings?: EmbeddedQueueSettings): Promise<QueueBackend> => {
    const b = await openEmbeddedBackend(dir, settings);
    backends.push(b);
    return b;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "agentmesh-embedded-queue-"));
  });
  afterEach(async () => {
    for (const b of backends.splice(0)) await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("accepts an acked id again once the dedup window has passed", async () => {
    const b = await open({ dedupWindowMs: 200, pollIntervalMs: 20 });
    const handled: number[] = [];
    b.queue.consume("dedup", async (d) => {
      handled.push(d.attempt);
      await d.ack();
    });
    expect(await b.queue.enqueue({ id: "t", subject: "dedup", data })).toEqual({ duplicate: false });
    await sleep(100);
    expect(await b.queue.enqueue({ id: "t", subject: "dedup", data })).toEqual({ duplicate: true });
    await sleep(600);
    expect(await b.queue.enqueue({ id: "t", subject: "dedup", data })).toEqual({ duplicate: false });
    await sleep(200);
    expect(handled).toEqual([1, 1]);
  });

  it("breaks a lock file left behind by a killed process", async () => {
    const b = await open();
    const lock = join(dir, "queue", "locks", `enqueue-${messageKey("t")}`);
    await writeFile(lock, "");
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    expect(await b.queue.enqueue({ id: "t", subject: "locked", data })).toEqual({ duplicate: false });
    expect(await b.queue.depth("locked")).toBe(1);
  });

  it("takes an ack after the lease expired as done when the message was only put back", async () => {
    const b = await open({ ackWaitMs: 200, pollIntervalMs: 20 });
    const attempts: number[] = [];
    b.queue.consume("late", async (d) => {
      attempts.push(d.attempt);
      await sleep(500);
      await d.ack();
    });
    await b.queue.enqueue({ id: "t", subject: "late", data });
    await sleep(900);
    expect(attempts).toEqual([1]);
    expect(await b.queue.depth("late")).toBe(0);
    expect(await b.queue.deadLetters("late")).toEqual([]);
  });

  it.each([["Upper"], ["a..b"], [".."], ["a/b"], [""], ["with space"]])("refuses subject %j", async (subject) => {
    const b = await open();
    await expect(b.queue.enqueue({ id: "t", subject, data })).rejects.toBeInstanceOf(InvalidSubjectError);
    expect(() => b.queue.consume(subject, () => Promise.resolve())).toThrow(InvalidSubjectError);
  });

  it("tells onError when a consumer's pass fails, and keeps polling", async () => {
    const errors: string[] = [];
    const b = await open({ pollIntervalMs: 20, onError: (err) => errors.push((err as NodeJS.ErrnoException).code ?? String(err)) });
    // A file where the subject's in-flight directory belongs: every pass fails.
    await writeFile(join(dir, "queue", "inflight", "broken"), "");
    b.queue.consume("broken", () => Promise.resolve());
    await sleep(200);
    expect(errors.length).toBeGreaterThan(2);
    expect(new Set(errors)).toEqual(new Set(["EEXIST", "ENOTDIR"]));
  });

  it("refuses invalid settings", async () => {
    await expect(openEmbeddedBackend(dir, { maxDeliveries: 0 })).rejects.toThrow("maxDeliveries must be an integer of at least 1, got 0");
    await expect(openEmbeddedBackend(dir, { backoffMs: [] })).rejects.toThrow("backoffMs must be non-negative delays, at least one, got []");
    await expect(openEmbeddedBackend(dir, { backoffMs: [-1] })).rejects.toThrow("backoffMs must be non-negative delays, at least one, got [-1]");
  });
});
