/**
 * A durable log of task records on local disk: one line per record change
 * (JSON with the result in binary protobuf, base64), except that a change made
 * while the task's previous one still waits to be written replaces it (a short
 * task's start and final record often share a write; jsonl-log.ts). Replaying it
 * restores every task's last snapshot, so a restarted service still answers
 * `GetResult` and never re-executes a completed task id.
 *
 * A record nothing depends on yet (a task's start: a start lost in a crash
 * replays as no record, which a retry treats like an interrupted run) can be
 * deferred: it is written only if no newer record of its task comes within the
 * delay. A short task then writes its final record alone, instead of waiting
 * for its start record's write and sync to finish first: that wait was a whole
 * `fdatasync` on the answer's path at each service (bench/suite/findings.md).
 */
import { fromBinary } from "@bufbuild/protobuf";
import { ResultSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { openJsonlLog } from "../storage/jsonl-log.js";
import { resultToBinary } from "./result-wire.js";
import type { TaskRecord } from "./task-store.js";

/** Where task records are kept; see `createFileTaskJournal`. */
export interface TaskJournal {
  /** Every record's last snapshot, in first-seen order (`settled` is decided by the store). */
  replay(): TaskRecord[];
  /**
   * Appends a snapshot; resolves once it, or a newer snapshot of the same task
   * appended while it waited for its write, is written and synced (only written,
   * with `{ sync: false }`: the sync follows within jsonl-log's `unsyncedAtMostMs`).
   * The snapshot is encoded when it is written; `rec`'s fields are read now.
   */
  append(record: TaskRecord, options?: { readonly sync?: boolean }): Promise<void>;
  /**
   * Appends `record` after `delayMs` unless an `append` or `defer` of the same
   * task comes first (which replaces it). Best effort: a failed write is
   * reported on stderr. `rec`'s fields are read now. `close` writes what is
   * still deferred.
   */
  defer(record: TaskRecord, delayMs: number): void;
  close(): Promise<void>;
}

/** How long a task's start record waits for its final one before it is written (task-store.ts). */
export const startRecordDelayMs = 100;

interface Line {
  t: string;
  f: string;
  o: string;
  r: string;
}

/** Opens (creating if needed) a journal file; see `openJsonlLog` for durability. */
export function createFileTaskJournal(path: string): TaskJournal {
  const log = openJsonlLog<Line>(path);
  /** Deferred records by task id, with their timers. */
  const deferred = new Map<string, { line: () => Line; timer: NodeJS.Timeout }>();
  const lineOf = (rec: TaskRecord): (() => Line) => {
    const { taskId, fingerprint, owner, result } = rec;
    return () => ({ t: taskId, f: fingerprint, o: owner, r: Buffer.from(resultToBinary(result)).toString("base64") });
  };
  const cancelDeferred = (taskId: string) => {
    const d = deferred.get(taskId);
    if (d !== undefined) clearTimeout(d.timer);
    deferred.delete(taskId);
    return d;
  };
  const writeDeferred = (taskId: string) => {
    const d = cancelDeferred(taskId);
    // Best effort, so written without waiting for a sync.
    return d === undefined ? Promise.resolve() : log.appendLatest(taskId, d.line, { sync: false }).catch((err: unknown) => console.error(`task journal: ${String(err)}`));
  };
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
    append(rec, options) {
      cancelDeferred(rec.taskId);
      return log.appendLatest(rec.taskId, lineOf(rec), options);
    },
    defer(rec, delayMs) {
      cancelDeferred(rec.taskId);
      const timer = setTimeout(() => void writeDeferred(rec.taskId), delayMs);
      deferred.set(rec.taskId, { line: lineOf(rec), timer });
    },
    async close() {
      await Promise.all([...deferred.keys()].map(writeDeferred));
      await log.close();
    },
  };
}
