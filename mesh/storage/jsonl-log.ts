/**
 * An append-only log of JSON lines on local disk, the storage under the task
 * journal, the approval journal and the audit log. A resolved append survives a
 * crash: its lines were written and `fdatasync`ed before it resolved.
 *
 * Group commit: appends made while a write is on its way wait together and go
 * out as the next batch, one write and one `fdatasync` for the lot, in the order
 * they were made. Under concurrent load that turns N syncs into about one per
 * sync time, and a lone append still goes out at once. A failed write fails the
 * appends of its batch (and no others), and the file is opened again for the
 * next batch. A torn last line (a crash mid-write) is skipped when the log is
 * read back.
 *
 * Records nobody waits on (the audit log, telemetry) may be synced lazily
 * (`syncEveryMs`): each batch is written at once, so a crash of the process
 * loses nothing, and one `fdatasync` at most every `syncEveryMs` (and on close)
 * makes them safe from a crash of the machine. An fdatasync costs about 0.1 ms
 * of CPU and, next to other syncs on the same disk, slows them; four per task
 * were most of a low-load Delegate's wait (bench/suite/findings.md).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { appendFile, open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

/** A JSONL file; see `openJsonlLog`. */
export interface JsonlLog<T> {
  /** Every whole line parsed, in file order (torn or unparsable lines skipped). */
  readAll(): T[];
  /** Appends one value as a line; resolves once it is on disk (written, with `syncEveryMs`). */
  append(value: T): Promise<void>;
  /** Appends values as lines in one write (one `fdatasync` for the lot); resolves once they are on disk (written, with `syncEveryMs`). */
  appendAll(values: readonly T[]): Promise<void>;
  /**
   * Appends, as a line, the value `value()` returns when its batch is written. A
   * later `appendLatest` of the same `key` made while this one still waits for
   * its batch replaces it, at its place: a batch holds each key's newest value
   * once, and only that one is made and encoded (the task journal's start and
   * final record of a short task). Resolves once its batch is on disk, holding
   * this value or a newer one of the key; `value` throwing fails the batch.
   * With `{ sync: false }` it resolves once the batch is written (it survives
   * the process), and the sync follows within `unsyncedAtMostMs`, unless another
   * append in the batch wants it synced.
   */
  appendLatest(key: string, value: () => T, options?: { readonly sync?: boolean }): Promise<void>;
  /** Waits for pending appends and closes the file. */
  close(): Promise<void>;
}

/** Longest time a batch written without a sync (`appendLatest`'s `sync: false`) stays unsynced. */
export const unsyncedAtMostMs = 200;

/** Options of `openJsonlLog`. */
export interface JsonlLogOptions {
  /**
   * Sync lazily: an append resolves once its batch is written (it survives the
   * process), and the file is `fdatasync`ed at most this often, and on close
   * (then it survives the machine). Unset: every batch is synced before its
   * appends resolve.
   */
  readonly syncEveryMs?: number;
  /**
   * Gather appends this long before a batch is written (one write instead of
   * one per append when they come one at a time); a crash of the process loses
   * at most the appends gathered. Unset: a batch is written as soon as the one
   * before it is done.
   */
  readonly gatherMs?: number;
}

/** Opens (creating if needed, with its directory) the log at `path`. */
export function openJsonlLog<T>(path: string, options: JsonlLogOptions = {}): JsonlLog<T> {
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) closeSync(openSync(path, "a"));
  const lazy = options.syncEveryMs;
  for (const [name, ms] of Object.entries({ syncEveryMs: lazy, gatherMs: options.gatherMs })) {
    if (ms !== undefined && !(Number.isFinite(ms) && ms > 0)) throw new RangeError(`${name} must be a positive number of ms, not ${ms}`);
  }
  const gather = options.gatherMs === undefined ? undefined : () => new Promise<void>((resolve) => setTimeout(resolve, options.gatherMs));
  let handle: Promise<FileHandle> | undefined;
  /** The lazy sync scheduled, if any, and the last one started. */
  let lazySync: NodeJS.Timeout | undefined;
  let syncing: Promise<void> = Promise.resolve();
  const syncNow = (): Promise<void> => {
    lazySync = undefined;
    // Beside the writes, not queued behind them: it covers what was written when it starts.
    // A failed sync is left to the next one; the lines are written already.
    syncing = (async () => {
      const fh = await handle?.catch(() => undefined);
      await fh?.datasync().catch(() => undefined);
    })();
    return syncing;
  };
  let queue: Promise<void> = Promise.resolve();
  /** A batch: encoded lines, or values made at write time (`appendLatest`) at the index of their key. */
  interface Batch {
    readonly parts: (string | (() => T))[];
    readonly keys: Map<string, number>;
    /** Whether an append in it waits for the sync. */
    sync: boolean;
    written: Promise<void>;
  }
  /** The batch that appends join until the write before it is done; undefined when none waits. */
  let waiting: Batch | undefined;
  const writeBatch = async (text: string, sync: boolean) => {
    handle ??= open(path, "a");
    try {
      const fh = await handle;
      await appendFile(fh, text);
      if (sync && lazy === undefined) await fh.datasync();
      else lazySync ??= setTimeout(() => void syncNow(), lazy ?? unsyncedAtMostMs).unref();
    } catch (err) {
      const broken = handle;
      handle = undefined;
      await broken?.then((fh) => fh.close()).catch(() => undefined);
      throw err;
    }
  };
  /** The waiting batch, opened (and queued behind the one before) if none waits. */
  const batch = (): Batch => {
    if (waiting !== undefined) return waiting;
    const b: Batch = { parts: [], keys: new Map(), sync: false, written: Promise.resolve() };
    // Each batch waits for the one before, whether that one succeeded or not;
    // from then on it takes no more appends (they form the next batch).
    b.written = queue.catch(() => undefined).then(gather).then(() => {
      if (waiting === b) waiting = undefined;
      return writeBatch(b.parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p()) + "\n")).join(""), b.sync);
    });
    waiting = b;
    queue = b.written;
    return b;
  };
  const appendAll = (values: readonly T[]): Promise<void> => {
    const b = batch();
    b.sync = true;
    b.parts.push(values.map((v) => JSON.stringify(v) + "\n").join(""));
    return b.written;
  };
  const appendLatest = (key: string, value: () => T, options: { readonly sync?: boolean } = {}): Promise<void> => {
    const b = batch();
    if (options.sync !== false) b.sync = true;
    const at = b.keys.get(key);
    if (at === undefined) b.keys.set(key, b.parts.push(value) - 1);
    else b.parts[at] = value;
    return b.written;
  };
  return {
    readAll() {
      const out: T[] = [];
      for (const text of readFileSync(path, "utf8").split("\n")) {
        if (text === "") continue;
        try {
          out.push(JSON.parse(text) as T);
        } catch {
          // A torn line from a crash mid-write: the lines before it stand.
        }
      }
      return out;
    },
    append: (value) => appendAll([value]),
    appendAll,
    appendLatest,
    async close() {
      await queue.catch(() => undefined);
      await syncing;
      if (lazySync !== undefined) {
        clearTimeout(lazySync);
        await syncNow();
      }
      if (handle !== undefined) await (await handle).close();
      handle = undefined;
    },
  };
}
