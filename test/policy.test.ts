/**
 * The policy step against a real gateway and agent on loopback, both evaluating a
 * bundle built from the fixture policy (test/support/policy-fixture.ts) through
 * AGENTMESH_POLICY_DIR: refusals arrive over gRPC with their status and
 * `ErrorDetail.policy_reasons`, every decision reaches the audit log that
 * `AuditService` serves to auditors only, and a rebuilt bundle is picked up
 * without a restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditRecordSchema, AuditService } from "../gen/agentmesh/v1/audit_pb.js";
import type { QueryDecisionsRequestSchema } from "../gen/agentmesh/v1/audit_pb.js";
import { DelegateRequestSchema, DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { DelegationMode, TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { readGatewayConfig, startGateway } from "../gateway/index.js";
import { create } from "@bufbuild/protobuf";
import { createGrpcClient, createLogger, errorDetailOf, inputDigest, PolicyBundleError } from "../mesh/index.js";
import type { GrpcClient, Role } from "../mesh/index.js";
import { buildFixturePolicy, fixtureData } from "./support/policy-fixture.js";
import { rejection } from "./support/rejection.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

let source: string;
let mesh: TestMesh;
let gateway: GrpcClient;
let agent: GrpcClient;

beforeAll(async () => {
  source = mkdtempSync(join(tmpdir(), "agentmesh-policy-"));
  const bundle = await buildFixturePolicy(source, fixtureData("r1", 3));
  mesh = await startTestMesh({ AGENTMESH_POLICY_DIR: bundle });
  const worker = await mesh.startAgent("worker-a", testIntents(createExecutionLog()));
  gateway = createGrpcClient(mesh.grpcAddress);
  agent = createGrpcClient(`127.0.0.1:${worker.grpcPort}`);
});

afterAll(async () => {
  gateway.close();
  agent.close();
  await mesh.stop();
  rmSync(source, { recursive: true, force: true });
});

type Req = MessageInitShape<typeof DelegateRequestSchema>;
const echo = (taskId: string): Req => ({ taskId, intent: "test.echo", inputs: { text: "hi" } });

async function delegateAs(subject: string, role: Role, req: Req) {
  return gateway.unary(DelegationService.method.delegate, req, { metadata: { authorization: `Bearer ${await mesh.token(subject, role)}` }, deadline: Date.now() + 10_000 });
}

async function queryAs(client: GrpcClient, role: Role, req: MessageInitShape<typeof QueryDecisionsRequestSchema>) {
  return client.unary(AuditService.method.queryDecisions, req, { metadata: { authorization: `Bearer ${await mesh.token(`someone-${role}`, role)}` }, deadline: Date.now() + 10_000 });
}

/** An audit record as proto JSON, without the fields that differ run to run. */
const stable = (record: Parameters<typeof toJson<typeof AuditRecordSchema>>[1]) => {
  const { recordId: _id, time: _time, traceId, ...rest } = toJson(AuditRecordSchema, record) as Record<string, unknown>;
  return { ...rest, traceId: typeof traceId === "string" && /^[0-9a-f]{32}$/.test(traceId) ? "<trace id>" : traceId };
};

describe("policy over a real mesh", () => {
  it("runs an allowed call and records the decision on its result", async () => {
    const { result } = await delegateAs("alice", "supervisor", echo("ok-1"));
    expect([result?.state, result?.decision?.allow, result?.decision?.revision, result?.decision?.reasons]).toEqual([TaskState.COMPLETED, true, "r1", []]);
  });

  it("refuses at the gateway with the reason's status and every reason in ErrorDetail.policy_reasons", async () => {
    const err = await rejection(delegateAs("audrey", "auditor", echo("deny-1")));
    expect([err.code, err.rawMessage]).toEqual([Code.PermissionDenied, "role auditor may not delegate"]);
    const detail = errorDetailOf(err)!;
    expect([detail.reason, detail.policyReasons.map((r) => [r.code, r.message])]).toEqual(["role_not_allowed", [["role_not_allowed", "role auditor may not delegate"]]]);
  });

  it("refuses at the agent, and the refusal comes back through the gateway unchanged", async () => {
    const err = await rejection(delegateAs("eve", "supervisor", echo("deny-2")));
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason, errorDetailOf(err)?.policyReasons.map((r) => r.code)]).toEqual([
      Code.PermissionDenied, "eve lacks tool:outbox.write at worker-a", "tool_not_in_scope", ["tool_not_in_scope"],
    ]);
  });

  it("refuses the call past the quota with RESOURCE_EXHAUSTED and when to retry", async () => {
    for (let i = 1; i <= 3; i++) await delegateAs("quinn", "supervisor", echo(`quota-${i}`));
    const err = await rejection(delegateAs("quinn", "supervisor", echo("quota-4")));
    expect([err.code, err.rawMessage]).toEqual([Code.ResourceExhausted, "quinn used 3 of 3 calls of test.echo in 10 s"]);
    const { retry_after_ms: retryAfter, ...metadata } = errorDetailOf(err)!.metadata;
    expect([errorDetailOf(err)?.reason, metadata]).toEqual(["quota_exceeded", { limit: "3", limit_kind: "calls", window_seconds: "10" }]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(10_000);
  });

  it("counts queued work against the same quota: the call past it is refused before it is queued", async () => {
    const queued = (taskId: string): Req => ({ ...echo(taskId), mode: DelegationMode.QUEUED });
    for (let i = 1; i <= 3; i++) expect((await delegateAs("quincy", "supervisor", queued(`queued-quota-${i}`))).result?.state).not.toBe(TaskState.REJECTED);
    const err = await rejection(delegateAs("quincy", "supervisor", queued("queued-quota-4")));
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([Code.ResourceExhausted, "quincy used 3 of 3 calls of test.echo in 10 s", "quota_exceeded"]);
    const read = await rejection(gateway.unary(DelegationService.method.getResult, { taskId: "queued-quota-4" }, { metadata: { authorization: `Bearer ${await mesh.token("quincy", "supervisor")}` } }));
    expect(read.code).toBe(Code.NotFound);
  });

  it("serves the gateway's and the agent's decisions to an auditor through AuditService", async () => {
    const atGateway = await queryAs(gateway, "auditor", { taskId: "deny-1" });
    expect(atGateway.records.map(stable)).toEqual([{
      kind: "AUDIT_KIND_POLICY_DECISION", service: "gateway", caller: "audrey", callerRole: "auditor", intent: "test.echo", taskId: "deny-1",
      inputDigest: inputDigest(create(DelegateRequestSchema, echo("deny-1"))), traceId: "<trace id>",
      decision: { reasons: [{ code: "role_not_allowed", message: "role auditor may not delegate" }], revision: "r1" },
    }]);
    const atAgent = await queryAs(agent, "approver", { caller: "eve", deniedOnly: true });
    expect(atAgent.records.map((r) => [r.service, r.target, r.taskId, r.decision?.reasons.map((x) => x.code)])).toEqual([["worker-a", "worker-a", "deny-2", ["tool_not_in_scope"]]]);
  });

  it.each<Role>(["worker", "supervisor"])("refuses AuditService to a %s", async (role) => {
    const err = await rejection(queryAs(gateway, role, {}));
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([Code.PermissionDenied, `only auditors and approvers may read the audit log; the caller's role is ${role}`, "role_not_allowed"]);
  });

  it("picks up a rebuilt bundle without a restart, and audits the reload", async () => {
    await buildFixturePolicy(source, fixtureData("r2", 3));
    const deadline = Date.now() + 10_000;
    let reloads: string[] = [];
    while (Date.now() < deadline) {
      const { records } = await queryAs(gateway, "auditor", {});
      reloads = records.filter((r) => r.decision?.reasons[0]?.code === "policy_loaded").map((r) => r.decision!.revision);
      if (reloads.includes("r2")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(reloads).toEqual(["r2", "r1"]);
    const { result } = await delegateAs("alice", "supervisor", echo("ok-2"));
    expect(result?.decision?.revision).toBe("r2");
  });
});

describe("a service with AGENTMESH_POLICY_DIR", () => {
  it("does not start when the bundle cannot be loaded", async () => {
    const home = mkdtempSync(join(tmpdir(), "agentmesh-nopolicy-"));
    try {
      const missing = join(home, "no-bundle");
      const config = readGatewayConfig({ AGENTMESH_HOME: home, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0", AGENTMESH_CONNECT_ADDRESS: "off", AGENTMESH_POLICY_DIR: missing });
      const err = await startGateway(config, { logger: createLogger("test", "error") }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PolicyBundleError);
      expect((err as Error).message).toBe(`cannot load the policy bundle in ${missing}: cannot read policy.wasm (ENOENT: no such file or directory, open '${missing}/policy.wasm')`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
