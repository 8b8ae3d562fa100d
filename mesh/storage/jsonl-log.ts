/**
 * An append-only log of JSON lines on local disk, the storage under the task
 * journal, the approval journal and the audit log. Appends are serialised and each
 * is followed by `fdatasync`, so a resolved append survives a crash; a failed
 * append fails alone and the file is opened again for the next one. A torn last
 * line (a crash mid-write) is skipped when the log is read back.
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
  const appendAll = (values: readonly T[]): Promise<void> => {
    const text = values.map((v) => JSON.stringify(v) + "\n").join("");
    // Each write waits for the one before, whether that one succeeded or not.
    const write = queue.catch(() => undefined).then(async () => {
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
    });
    queue = write;
    return write;
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
