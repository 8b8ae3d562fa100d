/**
 * OpenTelemetry through a real gateway and worker: for each client protocol
 * (Connect with JSON, gRPC with grpc-js, gRPC-Web) one delegation that delegates
 * onward is one trace, the caller's span is the parent of the gateway's SERVER
 * span, each CLIENT span the parent of the SERVER span it calls, every task has
 * a task span with its cost rolled up from its children, refusals end in ERROR
 * with their reason, a retry of a task links to the task's span, and an approved
 * task resumes in the trace it was held in, linked to the approver's call. The spans
 * are read from an in-memory exporter every service sends to; the last test
 * reads them back from the embedded span stores, as `agentmesh trace` does.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest, DelegateResponse } from "../gen/agentmesh/v1/delegation_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DelegateRequestSchema } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, errorDetailOf, toSpanRecord } from "../mesh/index.js";
import type { SpanRecord } from "../mesh/index.js";
import { traceReport } from "../cli/trace-command.js";
import { ApprovalDecision } from "../gen/agentmesh/v1/approval_pb.js";
import { createApprovalDesk } from "./support/approval-desk.js";
import { rejection } from "./support/rejection.js";
import { riskyEchoPolicy } from "./support/stand-in-policy.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

const exporter = new InMemorySpanExporter();
let mesh: TestMesh;

beforeAll(async () => {
  mesh = await startTestMesh({}, undefined, undefined, exporter);
  await mesh.startAgent("worker-a", testIntents(createExecutionLog()));
});
afterAll(() => mesh.stop());

type Req = MessageInitShape<typeof DelegateRequestSchema>;
type Delegate = (req: Req, headers: Record<string, string>) => Promise<DelegateResponse>;

/** A caller's own span: the W3C traceparent it sends. */
function callerSpan() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const protocols: [string, "grpc" | "connect_rpc", () => Delegate][] = [
  ["Connect with JSON", "connect_rpc", () => {
    const client = createClient(DelegationService, createConnectTransport({ baseUrl: mesh.connectUrl, httpVersion: "1.1", useBinaryFormat: false }));
    return (req, headers) => client.delegate(req, { headers, timeoutMs: 10_000 });
  }],
  ["gRPC (grpc-js)", "grpc", () => {
    const client = createGrpcClient(mesh.grpcAddress);
    return (req, headers) => client.unary(DelegationService.method.delegate, req, { metadata: headers, deadline: Date.now() + 10_000 });
  }],
  ["gRPC-Web", "grpc", () => {
    const client = createClient(DelegationService, createGrpcWebTransport({ baseUrl: mesh.connectUrl, httpVersion: "1.1" }));
    return (req, headers) => client.delegate(req, { headers, timeoutMs: 10_000 });
  }],
];

const spansOf = (traceId: string): SpanRecord[] => exporter.getFinishedSpans().map(toSpanRecord).filter((s) => s.traceId === traceId);

/** Waits until the trace holds `count` spans (the last ones end as the response leaves). */
async function trace(traceId: string, count: number): Promise<SpanRecord[]> {
  await vi.waitFor(() => expect(spansOf(traceId).length).toBeGreaterThanOrEqual(count), { timeout: 5_000 });
  return spansOf(traceId);
}

/** The only child of `parent` of the given service, kind and name. */
function child(spans: readonly SpanRecord[], parent: SpanRecord, service: string, kind: SpanRecord["kind"], name: string): SpanRecord {
  const found = spans.filter((s) => s.parentSpanId === parent.spanId && s.service === service && s.kind === kind && s.name === name);
  expect(found.map((s) => `${s.service} ${s.kind} ${s.name}`)).toEqual([`${service} ${kind} ${name}`]);
  return found[0]!;
}

const delegateSpan = "agentmesh.v1.DelegationService/Delegate";
const costKeys = ["input_tokens", "output_tokens", "money_micros", "tool_calls"] as const;

describe.each(protocols)("a delegation over %s", (_name, system, connect) => {
  it("is one trace from the caller's span through the gateway, the worker and its sub-delegation", async () => {
    const delegate = connect();
    const caller = callerSpan();
    const taskId = `otel-${system}-${randomBytes(4).toString("hex")}`;
    const { result } = await delegate(
      { taskId, correlationId: `${taskId}-corr`, intent: "test.relay", inputs: { intent: "test.echo", inputs: { text: "hi" } } },
      { authorization: `Bearer ${await mesh.token()}`, traceparent: caller.traceparent },
    );
    expect([result?.state, result?.traceId]).toEqual([TaskState.COMPLETED, caller.traceId]);

    // gateway (server, task, client) → worker (server, task, client) → gateway (server, task, client) → worker (server, task).
    const spans = await trace(caller.traceId, 11);
    expect(spans).toHaveLength(11);
    const [entry] = spans.filter((s) => s.parentSpanId === caller.spanId);
    expect(entry).toMatchObject({ service: "gateway", kind: "server", name: delegateSpan, status: { code: "unset" } });
    expect(entry!.attributes).toMatchObject({
      "rpc.system": system, "rpc.service": "agentmesh.v1.DelegationService", "rpc.method": "Delegate",
      "agentmesh.task_id": taskId, "agentmesh.correlation_id": `${taskId}-corr`, "agentmesh.intent": "test.relay",
      "agentmesh.caller": "alice", "agentmesh.role": "supervisor", "agentmesh.depth": 0, "agentmesh.state": "completed",
      "agentmesh.policy.allow": true, "agentmesh.policy.requires_approval": false,
    });
    expect(entry!.events?.map((e) => e.name)).toEqual(["agentmesh.policy.decision"]);

    const gatewayTask = child(spans, entry!, "gateway", "internal", "agentmesh.task test.relay");
    const forward = child(spans, gatewayTask, "gateway", "client", delegateSpan);
    expect(forward.attributes).toMatchObject({ "rpc.system": "grpc", "agentmesh.agent": "worker-a", "agentmesh.attempt": 1, "rpc.grpc.status_code": 0 });
    const relayServer = child(spans, forward, "worker-a", "server", delegateSpan);
    expect(relayServer.attributes).toMatchObject({ "rpc.system": "grpc", "agentmesh.caller": "alice", "agentmesh.depth": 0, "agentmesh.task_id": taskId });
    const relayTask = child(spans, relayServer, "worker-a", "internal", "agentmesh.task test.relay");
    const subDelegate = child(spans, relayTask, "worker-a", "client", delegateSpan);
    const subEntry = child(spans, subDelegate, "gateway", "server", delegateSpan);
    expect(subEntry.attributes).toMatchObject({ "agentmesh.task_id": `${taskId}.child`, "agentmesh.correlation_id": `${taskId}-corr`, "agentmesh.caller": "worker-a", "agentmesh.intent": "test.echo", "agentmesh.depth": 1 });
    const subGatewayTask = child(spans, subEntry, "gateway", "internal", "agentmesh.task test.echo");
    const subForward = child(spans, subGatewayTask, "gateway", "client", delegateSpan);
    const echoServer = child(spans, subForward, "worker-a", "server", delegateSpan);
    const echoTask = child(spans, echoServer, "worker-a", "internal", "agentmesh.task test.echo");

    // Rolled up: the relay's cost is its own plus its child's, field by field.
    expect(echoTask.attributes).toMatchObject({ "agentmesh.state": "completed", "agentmesh.confidence": 1, "agentmesh.cost.tool_calls": 1, "agentmesh.own_cost.tool_calls": 1 });
    expect(relayTask.attributes).toMatchObject({ "agentmesh.state": "completed", "agentmesh.own_cost.money_micros": 10, "agentmesh.subtasks": 1 });
    for (const k of costKeys) {
      expect([k, relayTask.attributes[`agentmesh.cost.${k}`]]).toEqual([k, (relayTask.attributes[`agentmesh.own_cost.${k}`] as number) + (echoTask.attributes[`agentmesh.cost.${k}`] as number)]);
      // The gateway's task span carries the worker's result.
      expect([k, gatewayTask.attributes[`agentmesh.cost.${k}`]]).toEqual([k, relayTask.attributes[`agentmesh.cost.${k}`]]);
    }
  });
});

describe("a refused call", () => {
  it("ends its server span in ERROR with the refusal's message, reason and the policy's reasons", async () => {
    const caller = callerSpan();
    const client = createGrpcClient(mesh.grpcAddress);
    const err = await rejection(client.unary(DelegationService.method.delegate, { taskId: "otel-refused-1", intent: "test.echo", inputs: { text: "hi" } }, {
      metadata: { authorization: `Bearer ${await mesh.token("audrey", "auditor")}`, traceparent: caller.traceparent },
      deadline: Date.now() + 10_000,
    }));
    client.close();
    expect(err.code).toBe(Code.PermissionDenied);
    const reason = errorDetailOf(err)!.reason;
    const [span] = await trace(caller.traceId, 1);
    expect(span).toMatchObject({ service: "gateway", kind: "server", parentSpanId: caller.spanId, status: { code: "error", message: err.rawMessage } });
    expect(span!.attributes).toMatchObject({
      "rpc.grpc.status_code": Code.PermissionDenied, "agentmesh.error.code": "permission_denied", "agentmesh.error.reason": reason,
      "agentmesh.policy.allow": false, "agentmesh.caller": "audrey", "agentmesh.role": "auditor",
    });
    expect(span!.attributes["agentmesh.policy.reasons"]).toContain(reason);
  });
});

describe("a retried call", () => {
  it("is a trace of its own whose server span links to the task's span; the result keeps the first trace id", async () => {
    const client = createGrpcClient(mesh.grpcAddress);
    const req: Req = { taskId: "otel-retry-1", intent: "test.echo", inputs: { text: "again" } };
    const send = async (traceparent: string) =>
      (await client.unary(DelegationService.method.delegate, req, { metadata: { authorization: `Bearer ${await mesh.token()}`, traceparent }, deadline: Date.now() + 10_000 })).result!;
    const first = callerSpan();
    const retry = callerSpan();
    expect((await send(first.traceparent)).traceId).toBe(first.traceId);
    const again = await send(retry.traceparent);
    client.close();
    expect([again.state, again.traceId]).toEqual([TaskState.COMPLETED, first.traceId]);

    const firstSpans = await trace(first.traceId, 5);
    const gatewayTask = firstSpans.find((s) => s.service === "gateway" && s.name === "agentmesh.task test.echo")!;
    const [retrySpan, ...more] = await trace(retry.traceId, 1);
    // Nothing ran again: the retry is the gateway's server span alone.
    expect(more).toEqual([]);
    expect(retrySpan).toMatchObject({ service: "gateway", kind: "server", parentSpanId: retry.spanId });
    expect(retrySpan!.links).toEqual([{ traceId: first.traceId, spanId: gatewayTask.spanId, attributes: { "agentmesh.link": "retry_of_task" } }]);
  });
});

describe("an approved task", () => {
  it("runs in the trace it was held in, under the held call's span, linked to the approver's Decide", async () => {
    const spans = new InMemorySpanExporter();
    const held = await startTestMesh({}, undefined, riskyEchoPolicy, spans);
    try {
      await held.startAgent("worker-a", testIntents(createExecutionLog()));
      const client = createGrpcClient(held.grpcAddress);
      const desk = createApprovalDesk(client, (subject, role) => held.token(subject, role));
      const caller = callerSpan();
      const { result } = await client.unary(DelegationService.method.delegate, { taskId: "otel-held-1", intent: "test.echo", inputs: { text: "risky copy" } }, {
        metadata: { authorization: `Bearer ${await held.token()}`, traceparent: caller.traceparent }, deadline: Date.now() + 10_000,
      });
      expect([result?.state, result?.traceId]).toEqual([TaskState.AWAITING_APPROVAL, caller.traceId]);
      await desk.decide((await desk.pending("otel-held-1")).approvalId, ApprovalDecision.APPROVE);
      expect((await desk.terminal("otel-held-1")).state).toBe(TaskState.COMPLETED);
      client.close();

      const all = () => spans.getFinishedSpans().map(toSpanRecord);
      await vi.waitFor(() => expect(all().filter((s) => s.traceId === caller.traceId)).toHaveLength(5), { timeout: 5_000 });
      const inTrace = all().filter((s) => s.traceId === caller.traceId);
      const decide = all().find((s) => s.name === "agentmesh.v1.ApprovalService/Decide")!;
      const [entry] = inTrace.filter((s) => s.parentSpanId === caller.spanId);
      expect(entry!.attributes).toMatchObject({ "agentmesh.state": "awaiting_approval", "agentmesh.approval.state": "pending", "agentmesh.policy.requires_approval": true });
      const task = child(inTrace, entry!, "gateway", "internal", "agentmesh.task test.echo");
      expect(task.attributes).toMatchObject({ "agentmesh.approval.state": "approved", "agentmesh.state": "completed" });
      expect(task.links).toEqual([{ traceId: decide.traceId, spanId: decide.spanId, attributes: { "agentmesh.link": "approved_in" } }]);
      const forward = child(inTrace, task, "gateway", "client", delegateSpan);
      child(inTrace, child(inTrace, forward, "worker-a", "server", delegateSpan), "worker-a", "internal", "agentmesh.task test.echo");
    } finally {
      await held.stop();
    }
  });
});

describe("the embedded span stores", () => {
  it("hold every service's spans, which agentmesh trace prints as a tree by task id", async () => {
    const local = await startTestMesh();
    try {
      await local.startAgent("worker-a", testIntents(createExecutionLog()));
      const client = createGrpcClient(local.grpcAddress);
      const { result } = await client.unary(DelegationService.method.delegate, { taskId: "otel-file-1", intent: "test.echo", inputs: { text: "hi" } } satisfies Partial<DelegateRequest>, {
        metadata: { authorization: `Bearer ${await local.token()}` }, deadline: Date.now() + 10_000,
      });
      client.close();
      let lines: string[] = [];
      await vi.waitFor(() => {
        lines = traceReport(join(local.home, "data"), "otel-file-1");
        expect(lines[0]).toBe(`trace ${result!.traceId} (5 spans)`);
      }, { timeout: 5_000, interval: 200 });
      // Durations differ run to run.
      expect(lines.map((l) => l.replace(/\d+\.\d+ (ms|s)/g, "<t>"))).toEqual([
        `trace ${result!.traceId} (5 spans)`,
        `└─ gateway  ${delegateSpan} (server)  intent test.echo  state completed  policy allow  <t>`,
        "   └─ gateway  agentmesh.task test.echo  state completed  cost 1 tool calls, 0 tokens, $0.000000  <t>",
        `      └─ gateway  ${delegateSpan} (client)  intent test.echo  <t>`,
        `         └─ worker-a  ${delegateSpan} (server)  intent test.echo  state completed  policy allow  <t>`,
        "            └─ worker-a  agentmesh.task test.echo  state completed  cost 1 tool calls, 0 tokens, $0.000000  <t>",
      ]);
    } finally {
      await local.stop();
    }
  });
});
