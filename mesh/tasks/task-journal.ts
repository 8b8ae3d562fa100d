/**
 * A durable log of task records on local disk: one line per record change
 * (JSON with the result in binary protobuf, base64), except that a change made
 * while the task's previous one still waits to be written replaces it (a short
 * task's start and final record often share a write; jsonl-log.ts). Replaying it
 * restores every task's last snapshot, so a restarted service still answers
 * `GetResult` and never re-executes a completed task id.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ResultSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { openJsonlLog } from "../storage/jsonl-log.js";
import type { TaskRecord } from "./task-store.js";

/** Where task records are kept; see `createFileTaskJournal`. */
export interface TaskJournal {
  /** Every record's last snapshot, in first-seen order (`settled` is decided by the store). */
  replay(): TaskRecord[];
  /**
   * Appends a snapshot; resolves once it, or a newer snapshot of the same task
   * appended while it waited for its write, is written (and synced). The snapshot
   * is encoded when it is written; `rec`'s fields are read now.
   */
  append(record: TaskRecord): Promise<void>;
  close(): Promise<void>;
}

interface Line {
  t: string;
  f: string;
  o: string;
  r: string;
}

/** Opens (creating if needed) a journal file; see `openJsonlLog` for durability. */
export function createFileTaskJournal(path: string): TaskJournal {
  const log = openJsonlLog<Line>(path);
  return {
    replay() {
      const byId = new Map<string, TaskRecord>();
      for (const l of log.readAll()) {
        try {
          byId.set(l.t, { taskId: l.t, fingerprint: l.f, owner: l.o, settled: false, result: fromBinary(ResultSchema, Buffer.from(l.r, "base64")) });
        } catch {
          // A line that parses as JSON but not as a record: skipped like a torn one.
        }
      }
      return [...byId.values()];
    },
    append(rec) {
      const { taskId, fingerprint, owner, result } = rec;
      return log.appendLatest(taskId, () => ({ t: taskId, f: fingerprint, o: owner, r: Buffer.from(toBinary(ResultSchema, result)).toString("base64") }));
    },
    close: () => log.close(),
  };
}
