import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toJson } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuditKind, AuditRecordSchema } from "../../gen/agentmesh/v1/audit_pb.js";
import { DelegateRequestSchema, DelegationService, GetResultRequestSchema } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateResponse } from "../../gen/agentmesh/v1/delegation_pb.js";
import { ResultSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { meshCall, recordingLogger } from "../../test/support/mesh-call.js";
import { buildFixturePolicy, fixtureData } from "../../test/support/policy-fixture.js";
import { inputDigest } from "../approvals/request-digest.js";
import { createAuditLog } from "../audit/audit-log.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { Identity } from "../auth/identity.js";
import type { MeshCall } from "../call.js";
import { emptyChain } from "../chain/delegation-chain.js";
import type { DelegationChain } from "../chain/delegation-chain.js";
import { approvalKey, callerKey, chainKey, decisionKey, traceKey } from "../context-keys.js";
import type { GrantedApproval } from "../context-keys.js";
import { errorDetailOf } from "../errors.js";
import { loadPolicyBundle } from "./policy-engine.js";
import type { PolicyEngine } from "./policy-engine.js";
import { createPolicyInterceptor } from "./policy-interceptor.js";
import type { PolicyService } from "./policy-input.js";
import { createUsageCounters } from "./usage-counters.js";
import type { UsageCounters } from "./usage-counters.js";

const t0 = 1_795_564_521_000;
const traceId = "0af7651916cd43dd8448eb211c80319c";
const gateway: PolicyService = { name: "gateway", kind: "gateway" };
const alice: Identity = { subject: "alice", role: "supervisor", expiresAt: 0 };

let dir: string;
let engine: PolicyEngine;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "policy-interceptor-"));
  engine = await loadPolicyBundle(await buildFixturePolicy(join(dir, "policy"), fixtureData("r1", 3)));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let audit: AuditLog;
let quotas: UsageCounters;
let clock: number;
let ran: MeshCall[];
let logger: ReturnType<typeof recordingLogger>;
let audits = 0;
beforeEach(() => {
  audit = createAuditLog(join(dir, `audit-${++audits}.jsonl`), { logger: recordingLogger() });
  quotas = createUsageCounters();
  clock = t0;
  ran = [];
  logger = recordingLogger();
});
afterEach(async () => {
  await audit.close();
});

type Req = MessageInitShape<typeof DelegateRequestSchema>;
interface CallParts {
  readonly caller?: Identity;
  readonly chain?: DelegationChain;
  readonly approval?: GrantedApproval;
}

/** Runs one Delegate call through the policy step of `service`; the handler after it answers with a cost of 250 micros. */
async function delegate(req: Req, parts: CallParts = {}, service: PolicyService = gateway): Promise<{ call: MeshCall; response: DelegateResponse }> {
  const values = createContextValues();
  values.set(callerKey, parts.caller ?? alice);
  values.set(chainKey, parts.chain ?? emptyChain);
  values.set(traceKey, { traceId, spanId: "b7ad6b7169203331", parentSpanId: undefined, sampled: true });
  if (parts.approval !== undefined) values.set(approvalKey, parts.approval);
  const call = meshCall(DelegationService.method.delegate, create(DelegateRequestSchema, req), values);
  const step = createPolicyInterceptor({ engine, service, quotas, audit, logger, now: () => clock });
  const handler = step((c) => {
    ran.push(c);
    return Promise.resolve({ result: create(ResultSchema, { taskId: req.taskId, cost: { moneyMicros: 250n } }) });
  });
  return { call, response: (await handler(call)) as DelegateResponse };
}

async function refusal(req: Req, parts: CallParts = {}, service: PolicyService = gateway): Promise<ConnectError> {
  const err = await delegate(req, parts, service).then(() => undefined, (e: unknown) => e);
  if (!(err instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(err)}`);
  return err;
}

const echo = (taskId: string): Req => ({ taskId, intent: "test.echo", inputs: { text: "hi" } });
const auditJson = () => audit.query({ limit: 100 }).map((r) => toJson(AuditRecordSchema, r) as Record<string, unknown>);
const withoutIdAndTime = ({ recordId: _id, time: _time, ...rest }: Record<string, unknown>) => rest;

describe("createPolicyInterceptor", () => {
  it("runs an allowed call, leaves the decision for the result, counts the call and its spend, and audits it", async () => {
    const { call, response } = await delegate(echo("t-1"));
    expect(response.result?.taskId).toBe("t-1");
    expect(ran).toEqual([call]);
    expect(call.values.get(decisionKey)).toEqual(expect.objectContaining({ allow: true, reasons: [], requiresApproval: false, revision: "r1" }));
    expect(quotas.read("alice", "test.echo", clock)).toEqual({ window_seconds: 10, calls: 1, spend_micros: 250 });
    expect(auditJson().map(withoutIdAndTime)).toEqual([{
      kind: "AUDIT_KIND_POLICY_DECISION", service: "gateway", caller: "alice", callerRole: "supervisor", intent: "test.echo", taskId: "t-1",
      inputDigest: inputDigest(create(DelegateRequestSchema, echo("t-1"))), decision: { allow: true, revision: "r1" }, traceId,
    }]);
  });

  it.each<[string, Req, CallParts, PolicyService, Code, string, string]>([
    ["an auditor delegating", echo("t-2"), { caller: { subject: "audrey", role: "auditor", expiresAt: 0 } }, gateway, Code.PermissionDenied, "role_not_allowed", "role auditor may not delegate"],
    ["an unclassified intent", { taskId: "t-3", intent: "test.nope" }, {}, gateway, Code.PermissionDenied, "intent_unknown", "intent test.nope is not classified"],
    ["a chain without the intent's minimum budget", { taskId: "t-4", intent: "test.costly" }, { chain: { hops: [], budget: { moneyMicros: 999n, tokens: undefined } } }, gateway, Code.FailedPrecondition, "budget_exhausted", "test.costly needs 1000 micros on the chain"],
    ["eve at an agent (target is the agent)", echo("t-5"), { caller: { subject: "eve", role: "supervisor", expiresAt: 0, via: "gateway" } }, { name: "worker-a", kind: "agent" }, Code.PermissionDenied, "tool_not_in_scope", "eve lacks tool:outbox.write at worker-a"],
  ])("refuses %s with the reason's status, and audits it", async (_what, req, parts, service, code, reason, message) => {
    const err = await refusal(req, parts, service);
    expect([err.code, err.rawMessage]).toEqual([code, message]);
    const detail = errorDetailOf(err)!;
    expect([detail.reason, detail.policyReasons.map((r) => [r.code, r.message]), detail.metadata]).toEqual([reason, [[reason, message]], {}]);
    expect(ran).toEqual([]);
    const [record] = audit.query({ limit: 10 });
    expect([record?.kind, record?.service, record?.target, record?.taskId, record?.decision?.allow, record?.decision?.reasons.map((r) => r.code)]).toEqual([
      AuditKind.POLICY_DECISION, service.name, service.kind === "agent" ? service.name : "", req.taskId, false, [reason],
    ]);
    expect(quotas.read(parts.caller?.subject ?? "alice", req.intent!, clock).calls).toBe(0);
  });

  it("refuses the call past the quota with RESOURCE_EXHAUSTED, the limit and the time until the window frees a slot", async () => {
    for (const [n, at] of [[1, 0], [2, 1000], [3, 2000]] as const) {
      clock = t0 + at;
      await delegate(echo(`q-${n}`));
    }
    clock = t0 + 4000;
    const err = await refusal(echo("q-4"));
    expect([err.code, err.rawMessage]).toEqual([Code.ResourceExhausted, "alice used 3 of 3 calls of test.echo in 10 s"]);
    const detail = errorDetailOf(err)!;
    expect([detail.reason, detail.metadata]).toEqual(["quota_exceeded", { limit: "3", limit_kind: "calls", window_seconds: "10", retry_after_ms: "6000" }]);
    clock = t0 + 10_000;
    await delegate(echo("q-5"));
    expect(ran.length).toBe(4);
  });

  it("passes a call that needs approval on to the approval gate with the decision, without counting it", async () => {
    const { call } = await delegate({ taskId: "a-1", intent: "test.publish" });
    expect(ran).toEqual([call]);
    const decision = call.values.get(decisionKey)!;
    expect([decision.allow, decision.requiresApproval, decision.reasons.map((r) => [r.code, r.message])]).toEqual([false, true, [["approval_required", "test.publish is high risk"]]]);
    expect(quotas.read("alice", "test.publish", clock)).toEqual({ window_seconds: 60, calls: 0, spend_micros: 0 });
    expect(audit.query({ limit: 10, deniedOnly: true }).map((r) => r.taskId)).toEqual(["a-1"]);
  });

  it("admits the same call once the mesh holds a granted approval for it, and audits the approval id", async () => {
    const { call } = await delegate({ taskId: "a-2", intent: "test.publish" }, { approval: { approvalId: "ap-1", approver: "pat", digest: "sha256:00" } });
    expect(call.values.get(decisionKey)?.allow).toBe(true);
    expect(quotas.read("alice", "test.publish", clock).calls).toBe(1);
    expect(audit.query({ limit: 10 }).map((r) => [r.taskId, r.approvalId, r.decision?.allow])).toEqual([["a-2", "ap-1", true]]);
  });

  it.each([
    ["test.malformed", "the policy's decision is malformed: allow is not a boolean"],
    ["test.undefined", "the policy returned no decision (data.agentmesh.decision is undefined for this input)"],
  ])("refuses with INTERNAL policy_error when the policy gives no valid decision (%s), keeping the cause in the log", async (intent, cause) => {
    const err = await refusal({ taskId: "e-1", intent });
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([Code.Internal, "the policy could not decide on this call, so it was refused", "policy_error"]);
    expect(ran).toEqual([]);
    expect(logger.lines).toEqual([{ level: "error", msg: "policy evaluation failed; the call is refused", fields: { task_id: "e-1", intent, revision: "r1", error: cause } }]);
    expect(audit.query({ limit: 10 }).map((r) => [r.decision?.allow, r.decision?.reasons.map((x) => [x.code, x.message])])).toEqual([[false, [["policy_error", cause]]]]);
  });

  it("lets every method but Delegate pass without a decision", async () => {
    const call = meshCall(DelegationService.method.getResult, create(GetResultRequestSchema, { taskId: "t-1" }));
    const step = createPolicyInterceptor({ engine, service: gateway, quotas, audit, logger });
    await step((c) => Promise.resolve(c.message))(call);
    expect([call.values.get(decisionKey), audit.query({ limit: 10 })]).toEqual([undefined, []]);
  });
});
