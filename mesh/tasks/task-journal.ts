/**
 * A durable log of task records on local disk: one line per record change
 * (JSON with the result in binary protobuf, base64). Replaying it restores every
 * task's last snapshot, so a restarted service still answers `GetResult` and
 * never re-executes a completed task id.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { appendFile, open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ResultSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { TaskRecord } from "./task-store.js";

/** Where task records are kept; see `createFileTaskJournal`. */
export interface TaskJournal {
  /** Every record's last snapshot, in first-seen order (`settled` is decided by the store). */
  replay(): TaskRecord[];
  /** Appends a snapshot; resolves once it is written (and synced). */
  append(record: TaskRecord): Promise<void>;
  close(): Promise<void>;
}

interface Line {
  t: string;
  f: string;
  o: string;
  r: string;
}

/**
 * Opens (creating if needed) a journal file. Writes are serialised and each is
 * followed by `fsync`, so a resolved `append` survives a crash. A torn last line
 * (a crash mid-write) is skipped on replay.
 */
export function createFileTaskJournal(path: string): TaskJournal {
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) {
    closeSync(openSync(path, "a"));
  }
  let handle: Promise<FileHandle> | undefined;
  let queue: Promise<void> = Promise.resolve();
  return {
    replay() {
      const byId = new Map<string, TaskRecord>();
      for (const text of readFileSync(path, "utf8").split("\n")) {
        if (text === "") continue;
        try {
          const l = JSON.parse(text) as Line;
          byId.set(l.t, { taskId: l.t, fingerprint: l.f, owner: l.o, settled: false, result: fromBinary(ResultSchema, Buffer.from(l.r, "base64")) });
        } catch {
          // A torn line from a crash mid-write: the record before it stands.
        }
      }
      return [...byId.values()];
    },
    append(rec) {
      const line: Line = { t: rec.taskId, f: rec.fingerprint, o: rec.owner, r: Buffer.from(toBinary(ResultSchema, rec.result)).toString("base64") };
      const text = JSON.stringify(line) + "\n";
      // Each write waits for the one before, whether that one succeeded or not:
      // a failed write fails its own append only, and the file is opened again
      // for the next one.
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
    },
    async close() {
      await queue.catch(() => undefined);
      if (handle !== undefined) await (await handle).close();
    },
  };
}
