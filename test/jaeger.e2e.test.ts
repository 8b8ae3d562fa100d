/**
 * End to end with a real Jaeger: the gateway and every agent run as their own
 * processes (`agentmesh up`'s process group) and export their spans over
 * OTLP/gRPC to a Jaeger v2 started for the test (test/support/jaeger.ts). One
 * job under one caller span: the demo campaign (without its publish step, which
 * would wait for a person), which the supervisor fans out to the copywriter (who
 * asks the summarizer) and the segmenter, plus a publish the committed policy
 * refuses (confidential data for an intent cleared up to internal). The services
 * flush their spans when they stop; the trace is then read back from Jaeger's
 * query API, as `agentmesh trace --jaeger` does.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { DataClass, TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, errorDetailOf } from "../mesh/index.js";
import type { SpanRecord } from "../mesh/index.js";
import { cliAuth } from "../cli/cli-identity.js";
import { otlpEnvFor } from "../cli/jaeger.js";
import type { RunningJaeger } from "../cli/jaeger.js";
import { fetchJaegerSpans, jaegerTraceReport } from "../cli/jaeger-trace.js";
import { startMeshProcesses } from "../cli/mesh-processes.js";
import { freePorts, startTestJaeger } from "./support/jaeger.js";
import { rejection } from "./support/rejection.js";

const run = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), "agentmesh-jaeger-e2e-"));
const caller = { traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex") };
const taskId = `jaeger-${randomBytes(4).toString("hex")}`;
const correlationId = `${taskId}-job`;
const delegateSpan = "agentmesh.v1.DelegationService/Delegate";
const costKeys = ["input_tokens", "output_tokens", "money_micros", "tool_calls"] as const;

let jaeger: RunningJaeger;
let log = "";
let campaign: Result;
let refusal: { code: Code; reason: string; message: string };
let spans: SpanRecord[] = [];

beforeAll(async () => {
  jaeger = await startTestJaeger((l) => (log += `jaeger │ ${l}\n`));
  const [gatewayPort, connectPort] = (await freePorts(2)) as [number, number];
  const mesh = await startMeshProcesses({
    gatewayPort, connectPort, home, print: (l) => (log += l + "\n"),
    env: { ...otlpEnvFor(jaeger), AGENTMESH_SHUTDOWN_GRACE_MS: "2000" },
  });
  try {
    const client = createGrpcClient(mesh.gatewayAddress);
    const metadata = { ...(await cliAuth({ home, token: undefined, user: "erin" }, "operator")), traceparent: `00-${caller.traceId}-${caller.spanId}-01` };
    const inputs = { ...(JSON.parse(readFileSync("examples/campaign-launch.json", "utf8")) as Record<string, unknown>), publish: false };
    const [launched, refused] = await Promise.all([
      client.unary(DelegationService.method.delegate, { taskId, correlationId, intent: "campaign.launch", inputs }, { metadata, deadline: Date.now() + 60_000 }),
      rejection(client.unary(DelegationService.method.delegate, {
        taskId: `${taskId}-publish`, correlationId, intent: "content.publish",
        inputs: { channel: "email", title: "Beacon Analytics", body: "Confidential launch copy, not for the outbox yet." },
        constraints: { dataClass: DataClass.CONFIDENTIAL },
      }, { metadata, deadline: Date.now() + 60_000 })),
    ]);
    client.close();
    campaign = launched.result!;
    refusal = { code: refused.code, reason: errorDetailOf(refused)?.reason ?? "", message: refused.rawMessage };
  } finally {
    // SIGTERM: every service flushes its batch of spans to Jaeger as it stops.
    await mesh.stop();
  }
  // Jaeger stores what it received after its own short batch.
  for (const deadline = Date.now() + 15_000; ;) {
    const before = spans.length;
    spans = await fetchJaegerSpans(jaeger.queryUrl, caller.traceId);
    if (spans.length > 0 && spans.length === before) break;
    if (Date.now() > deadline) throw new Error(`no stable trace ${caller.traceId} in Jaeger (${spans.length} spans)\n${log}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}, 120_000);

afterAll(async () => {
  await jaeger?.stop();
  rmSync(home, { recursive: true, force: true });
});

const byId = () => new Map(spans.map((s) => [s.spanId, s]));
/** The spans named `name` of `service` and `kind`. */
const find = (service: string, kind: SpanRecord["kind"], name: string) => spans.filter((s) => s.service === service && s.kind === kind && s.name === name);
const children = (parent: SpanRecord) => spans.filter((s) => s.parentSpanId === parent.spanId);

describe("a job traced into Jaeger", () => {
  it("completed the campaign and had the publish refused", () => {
    expect([campaign.state, campaign.traceId]).toEqual([TaskState.COMPLETED, caller.traceId]);
    expect([refusal.code, refusal.reason]).toEqual([Code.PermissionDenied, "data_class_not_allowed"]);
  });

  it("is one trace holding every service of the job, every span under the caller's", () => {
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([caller.traceId]));
    expect([...new Set(spans.map((s) => s.service))].sort()).toEqual(["copywriter", "gateway", "segmenter", "summarizer", "supervisor"]);
    const ids = byId();
    for (const s of spans) expect([s.name, s.parentSpanId === caller.spanId || ids.has(s.parentSpanId ?? "")]).toEqual([s.name, true]);
    expect(spans.filter((s) => s.parentSpanId === caller.spanId).map((s) => `${s.service} ${s.kind} ${s.name}`).sort()).toEqual([
      `gateway server ${delegateSpan}`, `gateway server ${delegateSpan}`,
    ]);
  });

  it("links every hop through the gateway: a client span's only child is the callee's server span", () => {
    const ids = byId();
    const clients = spans.filter((s) => s.kind === "client");
    // The gateway forwards four tasks (campaign, draft, summary, segment); three agents delegate one each.
    expect(clients.map((s) => s.service).sort()).toEqual(["copywriter", "gateway", "gateway", "gateway", "gateway", "supervisor", "supervisor"]);
    for (const client of clients) {
      const [server, ...more] = children(client);
      expect(more).toEqual([]);
      expect(server).toMatchObject({ kind: "server", name: client.name });
      // A hop leaves one process and arrives in another: from the gateway to an agent, or from an agent to the gateway.
      expect(client.service === "gateway" ? server!.service !== "gateway" : server!.service === "gateway").toBe(true);
      expect(ids.get(client.parentSpanId!)?.service).toBe(client.service);
    }
  });

  it("carries the agentmesh attributes, with the campaign's cost rolled up from its sub-tasks", () => {
    const [entry] = find("gateway", "server", delegateSpan).filter((s) => s.attributes["agentmesh.task_id"] === taskId);
    expect(entry!.attributes).toMatchObject({
      "agentmesh.task_id": taskId, "agentmesh.correlation_id": correlationId, "agentmesh.intent": "campaign.launch",
      "agentmesh.caller": "operator", "agentmesh.role": "supervisor", "agentmesh.depth": 0, "agentmesh.state": "completed",
      "agentmesh.policy.allow": true, "rpc.system": "grpc",
    });
    const task = (service: string, intent: string) => {
      const found = find(service, "internal", `agentmesh.task ${intent}`);
      expect(found).toHaveLength(1);
      return found[0]!;
    };
    const launch = task("supervisor", "campaign.launch");
    const subtasks = [task("copywriter", "copy.draft"), task("segmenter", "leads.segment")];
    const summary = task("summarizer", "docs.summarize");
    expect(launch.attributes).toMatchObject({ "agentmesh.state": "completed", "agentmesh.subtasks": 2, "agentmesh.agent": "supervisor" });
    for (const k of costKeys) {
      const cost = (s: SpanRecord, prefix = "agentmesh.cost") => s.attributes[`${prefix}.${k}`] as number;
      expect([k, cost(launch)]).toEqual([k, cost(launch, "agentmesh.own_cost") + subtasks.reduce((sum, s) => sum + cost(s), 0)]);
      expect([k, cost(subtasks[0]!)]).toEqual([k, cost(subtasks[0]!, "agentmesh.own_cost") + cost(summary)]);
      // The gateway's task span carries the supervisor's result.
      expect([k, cost(task("gateway", "campaign.launch"))]).toEqual([k, cost(launch)]);
    }
    expect(launch.attributes["agentmesh.cost.tool_calls"]).toBeGreaterThan(0);
    // Each worker's tool calls are tool spans under its task span, as many as its own cost counts.
    for (const t of [...subtasks, summary]) {
      const tools = children(t).filter((s) => s.name.startsWith("agentmesh.tool "));
      expect([t.name, tools.length]).toEqual([t.name, t.attributes["agentmesh.own_cost.tool_calls"]]);
      expect(tools.length).toBeGreaterThan(0);
    }
  });

  it("ends the refused hop in ERROR with the refusal's message, reason and the policy's reasons", () => {
    const [denied, ...more] = find("gateway", "server", delegateSpan).filter((s) => s.attributes["agentmesh.task_id"] === `${taskId}-publish`);
    expect(more).toEqual([]);
    expect(denied).toMatchObject({ parentSpanId: caller.spanId, status: { code: "error", message: refusal.message } });
    expect(denied!.attributes).toMatchObject({
      "agentmesh.intent": "content.publish", "agentmesh.correlation_id": correlationId, "agentmesh.policy.allow": false,
      "agentmesh.error.code": "permission_denied", "agentmesh.error.reason": "data_class_not_allowed", "rpc.grpc.status_code": Code.PermissionDenied,
    });
    expect(denied!.attributes["agentmesh.policy.reasons"]).toContain("data_class_not_allowed");
    // Nothing ran: no task span, no forward.
    expect(children(denied!)).toEqual([]);
  });

  it("is what agentmesh trace --jaeger prints, found by task id", async () => {
    const lines = await jaegerTraceReport(jaeger.queryUrl, taskId);
    expect(lines[0]).toBe(`trace ${caller.traceId} (${spans.length} spans)`);
    const { stdout } = await run(process.execPath, ["bin/agentmesh.js", "trace", correlationId, "--jaeger", jaeger.queryUrl], { env: { ...process.env, AGENTMESH_HOME: home }, timeout: 30_000 });
    expect(stdout.split("\n")).toEqual([...lines, ""]);
    expect(stdout).toMatch(/gateway {2}agentmesh\.v1\.DelegationService\/Delegate \(server\) {2}intent content\.publish {2}policy deny \(data_class_not_allowed.*✘ /);
    expect(stdout).toMatch(/supervisor {2}agentmesh\.task campaign\.launch {2}state completed {2}cost \d+ tool calls/);
  });
});
