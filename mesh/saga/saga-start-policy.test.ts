/** Saga starts decided by the committed policy bundle (real Wasm, real data). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAuditLog } from "../audit/audit-log.js";
import type { AuditLog } from "../audit/audit-log.js";
import { defaultPolicyDir } from "../config.js";
import { errorDetailOf } from "../errors.js";
import { createLogger } from "../logger.js";
import { loadPolicyBundle } from "../policy/policy-engine.js";
import { createUsageCounters } from "../policy/usage-counters.js";
import { createSagaStartPolicy } from "./saga-start-policy.js";

let dir: string;
let audit: AuditLog;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "saga-policy-"));
  audit = createAuditLog(join(dir, "sagas.audit.jsonl"), { logger: createLogger("test", "error") });
});
afterEach(async () => {
  await audit.close();
  await rm(dir, { recursive: true, force: true });
});

async function authorize() {
  return createSagaStartPolicy({
    engine: await loadPolicyBundle(defaultPolicyDir), audit, quotas: createUsageCounters(), service: { name: "sagas", kind: "agent" }, logger: createLogger("test", "error"),
  });
}

describe("createSagaStartPolicy", () => {
  it("lets a supervisor start campaign-launch and audits the decision", async () => {
    (await authorize())({ caller: { subject: "alice", role: "supervisor", expiresAt: 0 }, sagaId: "s-1", name: "campaign-launch", input: { campaign: "c" } });
    const [record] = audit.query({ taskId: "s-1", limit: 10 });
    expect([record?.caller, record?.intent, record?.target, record?.decision?.allow]).toEqual(["alice", "saga.campaign-launch", "sagas", true]);
  });

  it.each([
    ["a worker", { subject: "copywriter", role: "worker" as const }, "campaign-launch", Code.PermissionDenied, "scope_missing", "copywriter lacks scope campaign:plan required by saga.campaign-launch"],
    ["a saga nobody classified", { subject: "alice", role: "supervisor" as const }, "payroll-run", Code.PermissionDenied, "intent_unknown", "intent saga.payroll-run is not classified in policy data; new domains are refused until classified"],
  ])("refuses %s with the policy's reason", async (_name, caller, name, code, reason, message) => {
    const start = await authorize();
    const thrown = catching(() => start({ caller: { ...caller, expiresAt: 0 }, sagaId: "s-2", name, input: {} }));
    expect(thrown).toBeInstanceOf(ConnectError);
    expect([(thrown as ConnectError).code, (thrown as ConnectError).rawMessage, errorDetailOf(thrown as ConnectError)?.reason]).toEqual([code, message, reason]);
    expect(audit.query({ taskId: "s-2", limit: 10 }).map((r) => r.decision?.allow)).toEqual([false]);
  });
});

/** What `fn` throws; undefined when it returns. */
function catching(fn: () => void): unknown {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  }
}
