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
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { appendFile, open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

/** A JSONL file; see `openJsonlLog`. */
export interface JsonlLog<T> {
  /** Every whole line parsed, in file order (torn or unparsable lines skipped). */
  readAll(): T[];
  /** Appends one value as a line; resolves once it is on disk. */
  append(value: T): Promise<void>;
  /** Appends values as lines in one write (one `fdatasync` for the lot); resolves once they are on disk. */
  appendAll(values: readonly T[]): Promise<void>;
  /** Waits for pending appends and closes the file. */
  close(): Promise<void>;
}

/** Opens (creating if needed, with its directory) the log at `path`. */
export function openJsonlLog<T>(path: string): JsonlLog<T> {
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) closeSync(openSync(path, "a"));
  let handle: Promise<FileHandle> | undefined;
  let queue: Promise<void> = Promise.resolve();
  /** The batch that appends join until the write before it is done; undefined when none waits. */
  let waiting: { text: string[]; written: Promise<void> } | undefined;
  const writeBatch = async (text: string) => {
    handle ??= open(path, "a");
    try {
      const fh = await handle;
      await appendFile(fh, text);
      await fh.datasync();
    } catch (err) {
      const broken = handle;
      handle = undefined;
      await broken?.then((fh) => fh.close()).catch(() => undefined);
      throw err;
    }
  };
  const appendAll = (values: readonly T[]): Promise<void> => {
    const text = values.map((v) => JSON.stringify(v) + "\n").join("");
    if (waiting !== undefined) {
      waiting.text.push(text);
      return waiting.written;
    }
    const batch: { text: string[]; written: Promise<void> } = { text: [text], written: Promise.resolve() };
    // Each batch waits for the one before, whether that one succeeded or not;
    // from then on it takes no more appends (they form the next batch).
    batch.written = queue.catch(() => undefined).then(() => {
      if (waiting === batch) waiting = undefined;
      return writeBatch(batch.text.join(""));
    });
    waiting = batch;
    queue = batch.written;
    return batch.written;
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
    async close() {
      await queue.catch(() => undefined);
      if (handle !== undefined) await (await handle).close();
      handle = undefined;
    },
  };
}
