import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResultSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { createFileTaskJournal } from "./task-journal.js";
import type { TaskRecord } from "./task-store.js";

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "task-journal-"));
  path = join(dir, "tasks.jsonl");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record = (taskId: string, state: TaskState): TaskRecord => ({
  taskId, fingerprint: `fp-${taskId}`, owner: "alice", settled: false, result: create(ResultSchema, { taskId, state }),
});
const lines = () => readFileSync(path, "utf8").split("\n").filter((l) => l !== "").length;

describe("createFileTaskJournal", () => {
  it("writes one line for a task whose start and final record wait for the same write, and replays the final one", async () => {
    const journal = createFileTaskJournal(path);
    await Promise.all([journal.append(record("t-1", TaskState.WORKING)), journal.append(record("t-2", TaskState.WORKING)), journal.append(record("t-1", TaskState.COMPLETED))]);
    await journal.close();
    expect(lines()).toBe(2);
    expect(createFileTaskJournal(path).replay().map((r) => [r.taskId, r.result.state])).toEqual([["t-1", TaskState.COMPLETED], ["t-2", TaskState.WORKING]]);
  });

  it("keeps both records of a task written apart, and replays the last", async () => {
    const journal = createFileTaskJournal(path);
    await journal.append(record("t-1", TaskState.WORKING));
    await journal.append(record("t-1", TaskState.FAILED));
    await journal.close();
    expect(lines()).toBe(2);
    expect(createFileTaskJournal(path).replay().map((r) => [r.taskId, r.fingerprint, r.owner, r.result.state])).toEqual([["t-1", "fp-t-1", "alice", TaskState.FAILED]]);
  });

  it("records the snapshot it was given, though the record object changes after", async () => {
    const journal = createFileTaskJournal(path);
    const rec = record("t-1", TaskState.WORKING);
    const written = journal.append(rec);
    rec.result = create(ResultSchema, { taskId: "t-1", state: TaskState.CANCELED });
    await written;
    await journal.close();
    expect(createFileTaskJournal(path).replay()[0]?.result.state).toBe(TaskState.WORKING);
  });

  it("drops a deferred start record when the task's final record comes within the delay, and writes it when none comes", async () => {
    const journal = createFileTaskJournal(path);
    journal.defer(record("short", TaskState.WORKING), 50);
    journal.defer(record("long", TaskState.WORKING), 50);
    await journal.append(record("short", TaskState.COMPLETED));
    expect(lines()).toBe(1); // the short task's final record alone
    await new Promise((r) => setTimeout(r, 120));
    expect(lines()).toBe(2); // the long task's start, written after the delay
    await journal.close();
    expect(createFileTaskJournal(path).replay().map((r) => [r.taskId, r.result.state])).toEqual([["short", TaskState.COMPLETED], ["long", TaskState.WORKING]]);
    expect(lines()).toBe(2);
  });

  it("writes what is still deferred on close", async () => {
    const journal = createFileTaskJournal(path);
    journal.defer(record("t-1", TaskState.WORKING), 60_000);
    await journal.close();
    expect(createFileTaskJournal(path).replay().map((r) => [r.taskId, r.result.state])).toEqual([["t-1", TaskState.WORKING]]);
  });
});
