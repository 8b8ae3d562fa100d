import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuditKind } from "../../gen/agentmesh/v1/audit_pb.js";
import { recordingLogger } from "../../test/support/mesh-call.js";
import { createAuditLog } from "./audit-log.js";
import type { AuditLog, AuditRecordInit } from "./audit-log.js";

const t0 = 1_795_564_521_000;

/** A policy decision record at `t0 + at` ms. */
const decision = (taskId: string, at: number, fields: Partial<{ caller: string; intent: string; allow: boolean }> = {}): AuditRecordInit => ({
  kind: AuditKind.POLICY_DECISION,
  time: timestampFromMs(t0 + at),
  service: "gateway",
  caller: fields.caller ?? "alice",
  callerRole: "supervisor",
  intent: fields.intent ?? "copy.draft",
  taskId,
  inputDigest: "sha256:00",
  decision: { allow: fields.allow ?? true, revision: "r1" },
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "audit-log-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("createAuditLog", () => {
  /** This test's file, in a folder of its own that the log creates. */
  let path: string;
  let tests = 0;
  beforeEach(() => {
    path = join(dir, `test-${++tests}`, "gateway.audit.jsonl");
  });
  const logs: AuditLog[] = [];
  afterEach(() => Promise.all(logs.splice(0).map((l) => l.close())));
  const open = (maxRecords?: number, logger = recordingLogger()) => {
    const log = createAuditLog(path, { logger, ...(maxRecords === undefined ? {} : { maxRecords }) });
    logs.push(log);
    return log;
  };

  it("fills in the record id and time, and answers queries at once, newest first", () => {
    const log = open();
    const first = log.record({ kind: AuditKind.POLICY_DECISION, taskId: "t-1" });
    const second = log.record(decision("t-2", 0));
    expect(first.recordId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.time).toBeDefined();
    expect(log.query({ limit: 10 })).toEqual([second, first]);
  });

  it("writes proto-JSON lines and replays them after a restart", async () => {
    const before = open();
    const records = [before.record(decision("t-1", 0)), before.record(decision("t-2", 1, { allow: false }))];
    await before.close();
    const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.kind, l.taskId, l.decision])).toEqual([["AUDIT_KIND_POLICY_DECISION", "t-1", { allow: true, revision: "r1" }], ["AUDIT_KIND_POLICY_DECISION", "t-2", { revision: "r1" }]]);
    expect(open().query({ limit: 10 })).toEqual(records.reverse());
  });

  it("skips a torn last line on replay", async () => {
    const before = open();
    before.record(decision("t-1", 0));
    await before.close();
    writeFileSync(path, readFileSync(path, "utf8") + '{"kind":"AUDIT_KIND_POLI');
    expect(open().query({ limit: 10 }).map((r) => r.taskId)).toEqual(["t-1"]);
  });

  it.each<[string, Parameters<AuditLog["query"]>[0], string[]]>([
    ["everything", { limit: 100 }, ["t-6", "t-5", "t-4", "t-3", "t-2", "t-1"]],
    ["a task", { taskId: "t-3", limit: 100 }, ["t-3"]],
    ["a caller", { caller: "bob", limit: 100 }, ["t-5", "t-2"]],
    ["an intent", { intent: "text.summarize", limit: 100 }, ["t-4", "t-3"]],
    ["denials", { deniedOnly: true, limit: 100 }, ["t-5", "t-3"]],
    ["since a time", { sinceMs: t0 + 3000, limit: 100 }, ["t-6", "t-5", "t-4"]],
    ["a limit", { limit: 2 }, ["t-6", "t-5"]],
    ["filters together", { caller: "bob", deniedOnly: true, limit: 100 }, ["t-5"]],
  ])("queries by %s", (_what, query, taskIds) => {
    const log = open();
    log.record(decision("t-1", 0));
    log.record(decision("t-2", 1000, { caller: "bob" }));
    log.record(decision("t-3", 2000, { intent: "text.summarize", allow: false }));
    log.record(decision("t-4", 3000, { intent: "text.summarize" }));
    log.record(decision("t-5", 4000, { caller: "bob", allow: false }));
    log.record({ kind: AuditKind.POLICY_RELOAD, time: timestampFromMs(t0 + 5000), service: "gateway", taskId: "t-6", decision: { revision: "r2" } });
    expect(log.query(query).map((r) => r.taskId)).toEqual(taskIds);
  });

  it("keeps only the newest maxRecords in memory, from the file too", async () => {
    const log = open(3);
    for (let i = 1; i <= 5; i++) log.record(decision(`t-${i}`, i));
    expect(log.query({ limit: 10 }).map((r) => r.taskId)).toEqual(["t-5", "t-4", "t-3"]);
    await log.close();
    expect(open(2).query({ limit: 10 }).map((r) => r.taskId)).toEqual(["t-5", "t-4"]);
  });

  it("recovers from a failed write: that record is logged as lost, later ones are written", async () => {
    const logger = recordingLogger();
    const log = open(undefined, logger);
    // Make the file unwritable (a directory), then writable again.
    rmSync(path);
    mkdirSync(path);
    const lost = log.record(decision("t-1", 0));
    await log.flush();
    expect(logger.lines.map((l) => [l.level, l.msg, l.fields?.record_id, String(l.fields?.error).startsWith("EISDIR")])).toEqual([["error", "audit record not written", lost.recordId, true]]);
    rmSync(path, { recursive: true });
    writeFileSync(path, "");
    log.record(decision("t-2", 1));
    log.record(decision("t-3", 2));
    await log.flush();
    expect(open().query({ limit: 10 }).map((r) => r.taskId)).toEqual(["t-3", "t-2"]);
  });
});
