import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditKind, AuditService, QueryDecisionsRequestSchema } from "../../gen/agentmesh/v1/audit_pb.js";
import { meshCall, recordingLogger } from "../../test/support/mesh-call.js";
import type { Role } from "../auth/identity.js";
import { callerKey } from "../context-keys.js";
import { errorDetailOf, violationsOf } from "../errors.js";
import { methodKey } from "../interceptors/validate-request.js";
import { createAuditLog } from "./audit-log.js";
import type { AuditLog } from "./audit-log.js";
import { createAuditServiceImpl, createAuditValidators } from "./audit-service.js";

type Req = MessageInitShape<typeof QueryDecisionsRequestSchema>;

const callAs = (role: Role, req: Req) => {
  const values = createContextValues();
  values.set(callerKey, { subject: `a-${role}`, role, expiresAt: 0 });
  return meshCall(AuditService.method.queryDecisions, create(QueryDecisionsRequestSchema, req), values);
};

describe("createAuditServiceImpl", () => {
  let dir: string;
  let log: AuditLog;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "audit-service-"));
    log = createAuditLog(join(dir, "audit.jsonl"), { logger: recordingLogger() });
    for (let i = 1; i <= 120; i++) log.record({ kind: AuditKind.POLICY_DECISION, taskId: `t-${i}`, caller: i % 2 === 0 ? "bob" : "alice", decision: { allow: i % 3 !== 0 } });
  });
  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const query = (role: Role, req: Req) => {
    const call = callAs(role, req);
    return createAuditServiceImpl(log).queryDecisions(call.message as never, call);
  };

  it.each<Role>(["auditor", "approver"])("answers an %s, newest first, 100 records when no limit is named", async (role) => {
    const records = (await query(role, {})).records ?? [];
    expect([records.length, records[0]?.taskId, records[99]?.taskId]).toEqual([100, "t-120", "t-21"]);
  });

  it("applies the request's filters and limit", async () => {
    const records = (await query("auditor", { caller: "bob", deniedOnly: true, limit: 3 })).records ?? [];
    expect(records.map((r) => r.taskId)).toEqual(["t-120", "t-114", "t-108"]);
  });

  it.each<Role>(["worker", "supervisor", "gateway"])("refuses a %s with PERMISSION_DENIED role_not_allowed", async (role) => {
    const err = await Promise.resolve().then(() => query(role, {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    const ce = err as ConnectError;
    expect([ce.code, ce.rawMessage, errorDetailOf(ce)?.reason]).toEqual([Code.PermissionDenied, `only auditors and approvers may read the audit log; the caller's role is ${role}`, "role_not_allowed"]);
  });
});

describe("createAuditValidators", () => {
  const validate = createAuditValidators().get(methodKey(AuditService.method.queryDecisions))!;
  const check = (req: Req) => validate(create(QueryDecisionsRequestSchema, req), callAs("auditor", req));

  it("accepts an empty query and one with every filter", () => {
    expect(() => check({})).not.toThrow();
    expect(() => check({ taskId: "t-1", caller: "alice", intent: "copy.draft", deniedOnly: true, since: { seconds: 1n }, limit: 1000 })).not.toThrow();
  });

  it.each<[string, Req, string, string]>([
    ["a bad task id", { taskId: "has spaces" }, "task_id", "must be 1 to 128 characters of [A-Za-z0-9._:-]"],
    ["a bad intent", { intent: "Copy" }, "intent", "must be lowercase words joined by dots"],
    ["a long caller", { caller: "x".repeat(257) }, "caller", "must be at most 256 characters"],
    ["a negative limit", { limit: -1 }, "limit", "must be between 0 and 1000"],
    ["a limit over 1000", { limit: 1001 }, "limit", "must be between 0 and 1000"],
  ])("refuses %s with INVALID_ARGUMENT", (_what, req, field, description) => {
    let err: unknown;
    try {
      check(req);
    } catch (e) {
      err = e;
    }
    const ce = err as ConnectError;
    expect([ce.code, ce.rawMessage, errorDetailOf(ce)?.reason, violationsOf(ce).map((v) => [v.field, v.description])]).toEqual([
      Code.InvalidArgument, `invalid QueryDecisionsRequest: ${field} ${description}`, "request_invalid", [[field, description]],
    ]);
  });
});
