import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openJsonlLog, unsyncedAtMostMs } from "./jsonl-log.js";

let dir: string;
let path: string;
/** FileHandle.prototype, whose datasync the tests watch. */
let fileHandle: FileHandle;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "jsonl-log-"));
  path = join(dir, "log.jsonl");
  const fh = await open(join(dir, "probe"), "w");
  fileHandle = Object.getPrototypeOf(fh) as FileHandle;
  await fh.close();
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** The real FileHandle.prototype.datasync, to call from a spy. */
function realDatasync(): (this: FileHandle) => Promise<void> {
  return Object.getOwnPropertyDescriptor(fileHandle, "datasync")!.value as (this: FileHandle) => Promise<void>;
}

/** Watches every fdatasync: what the file held when each was called, and the order of syncs and resolved appends. */
function watchSyncs(delayMs = 0): { synced: string[]; events: string[] } {
  const original = realDatasync();
  const synced: string[] = [];
  const events: string[] = [];
  vi.spyOn(fileHandle, "datasync").mockImplementation(async function (this: FileHandle) {
    synced.push(readFileSync(path, "utf8"));
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    await original.call(this);
    events.push("sync");
  });
  return { synced, events };
}

describe("openJsonlLog", () => {
  it("writes appends made at once as one batch with one fdatasync, in order", async () => {
    const { synced } = watchSyncs();
    const log = openJsonlLog<{ n: number }>(path);
    await Promise.all(Array.from({ length: 50 }, (_, n) => log.append({ n })));
    expect(synced.length).toBe(1);
    expect(log.readAll()).toEqual(Array.from({ length: 50 }, (_, n) => ({ n })));
    await log.close();
  });

  it("resolves an append only after the fdatasync that covers its line", async () => {
    const { synced, events } = watchSyncs(20);
    const log = openJsonlLog<{ n: number }>(path);
    const first = log.append({ n: 0 }).then(() => events.push("resolved 0"));
    await new Promise((r) => setTimeout(r, 5)); // the first batch is on its way
    const rest = [1, 2, 3].map((n) => log.append({ n }).then(() => events.push(`resolved ${n}`)));
    await Promise.all([first, ...rest]);
    // Two batches: [0] alone, then [1, 2, 3] that arrived while it was synced.
    expect(events).toEqual(["sync", "resolved 0", "sync", "resolved 1", "resolved 2", "resolved 3"]);
    expect(synced).toEqual(['{"n":0}\n', '{"n":0}\n{"n":1}\n{"n":2}\n{"n":3}\n']);
    await log.close();
  });

  it("fails the appends of a batch whose write failed, and writes the next batch", async () => {
    const original = realDatasync();
    vi.spyOn(fileHandle, "datasync").mockRejectedValueOnce(new Error("EIO: disk failed")).mockImplementation(function (this: FileHandle) {
      return original.call(this);
    });
    const log = openJsonlLog<{ n: number }>(path);
    const failed = await Promise.allSettled([log.append({ n: 1 }), log.append({ n: 2 })]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((failed[0] as PromiseRejectedResult).reason).toEqual(new Error("EIO: disk failed"));
    await log.append({ n: 3 });
    // The failed batch's lines reached the file, but no append of it claimed durability.
    expect(log.readAll()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await log.close();
  });

  it("writes appendAll's values as one batch and close waits for pending batches", async () => {
    const { synced } = watchSyncs();
    const log = openJsonlLog<string>(path);
    void log.appendAll(["a", "b"]);
    void log.append("c");
    await log.close();
    expect(synced.length).toBe(1);
    expect(readFileSync(path, "utf8")).toBe('"a"\n"b"\n"c"\n');
  });

  it("keeps only the newest value of a key waiting in a batch, at its first place, and makes only that one", async () => {
    const { synced } = watchSyncs(20);
    const log = openJsonlLog<{ k: string; v: number }>(path);
    const made: string[] = [];
    const value = (k: string, v: number) => () => {
      made.push(`${k}${v}`);
      return { k, v };
    };
    const first = log.appendLatest("a", value("a", 0));
    await new Promise((r) => setTimeout(r, 5)); // a0 is on its way: the next appends wait together
    const waiting = [log.appendLatest("a", value("a", 1)), log.appendLatest("b", value("b", 1)), log.appendLatest("a", value("a", 2))];
    await Promise.all([first, ...waiting]);
    expect(made).toEqual(["a0", "a2", "b1"]);
    expect(synced.length).toBe(2);
    // a0 had been written; a1 was replaced by a2 before its batch went out, at a1's place.
    expect(log.readAll()).toEqual([{ k: "a", v: 0 }, { k: "a", v: 2 }, { k: "b", v: 1 }]);
    await log.close();
  });

  it("with syncEveryMs, resolves appends once written and syncs at most once per interval, and on close", async () => {
    const { synced } = watchSyncs();
    const log = openJsonlLog<{ n: number }>(path, { syncEveryMs: 400 });
    for (let n = 0; n < 5; n++) {
      await log.append({ n }); // resolves without waiting for a sync
      expect(readFileSync(path, "utf8").split("\n").filter(Boolean)).toHaveLength(n + 1);
    }
    expect(synced.length).toBe(0);
    await new Promise((r) => setTimeout(r, 600));
    expect(synced.length).toBe(1); // one sync for the five, after the interval
    expect(synced[0]!.split("\n").filter(Boolean)).toHaveLength(5);
    await log.append({ n: 5 });
    await log.close(); // the last line is synced by close, not left to the timer
    expect(synced.length).toBe(2);
    expect(synced[1]!.split("\n").filter(Boolean)).toHaveLength(6);
  });

  it("refuses a syncEveryMs that is not a positive number", () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => openJsonlLog(path, { syncEveryMs: bad })).toThrow(/syncEveryMs must be a positive number/);
      expect(() => openJsonlLog(path, { gatherMs: bad })).toThrow(/gatherMs must be a positive number/);
    }
  });

  it("resolves an appendLatest with sync: false once written, syncs it soon after, and syncs a batch any of whose appends wants it", async () => {
    const { synced } = watchSyncs();
    const log = openJsonlLog<{ k: string }>(path);
    await log.appendLatest("a", () => ({ k: "a" }), { sync: false });
    expect(readFileSync(path, "utf8")).toBe('{"k":"a"}\n');
    expect(synced.length).toBe(0);
    await new Promise((r) => setTimeout(r, unsyncedAtMostMs + 50));
    expect(synced).toEqual(['{"k":"a"}\n']);
    await Promise.all([log.appendLatest("b", () => ({ k: "b" }), { sync: false }), log.append({ k: "c" })]);
    expect(synced.length).toBe(2); // the batch of b and c was synced before either resolved
    await log.close();
  });

  it("with gatherMs, writes appends made one at a time within the window in one write", async () => {
    const log = openJsonlLog<{ n: number }>(path, { syncEveryMs: 1_000, gatherMs: 300 });
    const writes: Promise<void>[] = [];
    for (let n = 0; n < 4; n++) {
      writes.push(log.append({ n }));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(readFileSync(path, "utf8")).toBe(""); // still gathering
    await Promise.all(writes);
    expect(log.readAll()).toEqual([0, 1, 2, 3].map((n) => ({ n })));
    await log.close();
  });
});
