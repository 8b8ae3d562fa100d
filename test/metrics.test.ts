/**
 * The delegation metrics (mesh/telemetry/metrics.ts) and `agentmesh report`
 * over a real gateway and worker: a known mix of tasks — some within their SLO,
 * one over it, one without one, one with a known cost, one refused by the
 * worker's policy (the committed bundle), one held for a human and approved, one
 * held and denied — and the recorded facts, the OTel instruments (read by
 * in-memory readers injected into both services) and the report's figures
 * checked against it. The gateway's policy step is the stand-in that sends echo
 * texts starting with "risky" to a human (test/support/stand-in-policy.ts).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { DataPointType, MetricReader } from "@opentelemetry/sdk-metrics";
import type { DataPoint, Histogram, MetricData } from "@opentelemetry/sdk-metrics";
import { ApprovalDecision } from "../gen/agentmesh/v1/approval_pb.js";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequestSchema } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { readGatewayConfig, startGateway } from "../gateway/index.js";
import type { RunningGateway } from "../gateway/index.js";
import {
  createGrpcClient, createLogger, defineIntent, ensureDevKeys, errorDetailOf, issueToken, loadSigningKey, readMeshConfig, startAgent,
} from "../mesh/index.js";
import type { GrpcClient, RunningAgent } from "../mesh/index.js";
import { readMetricStores, reportRows } from "../mesh/telemetry/metrics-report.js";
import type { MetricFact, TaskFact } from "../mesh/telemetry/metrics.js";
import { reportFor, reportText } from "../cli/report-command.js";
import { createApprovalDesk } from "./support/approval-desk.js";
import { rejection } from "./support/rejection.js";
import { riskyEchoPolicy } from "./support/stand-in-policy.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { writeOffersFile } from "./support/test-mesh.js";

/** Reads what its meter provider collected, on demand. */
class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  async metrics(): Promise<MetricData[]> {
    const { resourceMetrics } = await this.collect();
    return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  }
}

/** The intent with a known cost: the test intents' `test.stubborn` name (offered, and known to the committed policy), priced. */
const priced = defineIntent<Record<string, never>, { ok: boolean }>({
  name: "test.stubborn",
  description: "Answers at a known cost.",
  inputSchema: { type: "object" },
  outputSchema: { type: "object" },
  tools: [],
  requiredScopes: [],
  handle: () => Promise.resolve({ outputs: { ok: true }, rationale: "priced", evidence: [], confidence: 1, toolCalls: 0, inputTokens: 120, outputTokens: 30, moneyMicros: 2500 }),
});

type Req = MessageInitShape<typeof DelegateRequestSchema> & { taskId: string };
const quiet = () => createLogger("test", "error");

let home: string;
let gateway: RunningGateway;
let agent: RunningAgent;
let client: GrpcClient;
const gatewayReader = new TestReader();
const workerReader = new TestReader();
let gatewayMetrics: MetricData[];
let workerMetrics: MetricData[];
let facts: MetricFact[];
const started = Date.now();

const ms = (n: number) => ({ seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1e6 });

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "agentmesh-metrics-"));
  await ensureDevKeys(join(home, "keys"));
  const names = ["test.echo", "test.sleep", "test.stubborn"];
  const env: Record<string, string> = {
    AGENTMESH_HOME: home, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0", AGENTMESH_CONNECT_ADDRESS: "127.0.0.1:0", AGENTMESH_ARTIFACTS_ADDRESS: "127.0.0.1:0", AGENTMESH_SHUTDOWN_GRACE_MS: "2000",
    AGENTMESH_AGENT_OFFERS: writeOffersFile(home, { "worker-a": names }),
  };
  gateway = await startGateway(readGatewayConfig(env), { logger: quiet(), policy: riskyEchoPolicy, metricReader: gatewayReader });
  const grpcAddress = `127.0.0.1:${gateway.grpcPort}`;
  const config = readMeshConfig({ ...env, AGENTMESH_GATEWAY: grpcAddress, AGENTMESH_INSTANCE_ID: "worker-a-0", AGENTMESH_DATA_DIR: join(home, "data", "worker-a-0") }, { grpcAddress: "127.0.0.1:0", connectAddress: "127.0.0.1:0" });
  agent = await startAgent({
    name: "worker-a", description: "test agent worker-a", version: "0", role: "worker", config, logger: quiet(), metricReader: workerReader,
    intents: [...testIntents(createExecutionLog(), ["test.echo", "test.sleep"]), priced as never], tools: [], scopes: [],
  });
  await agent.registered;
  client = createGrpcClient(grpcAddress);
  const key = await loadSigningKey(join(home, "keys", "signing-key.jwk.json"));
  const as = async (subject: string, role: "supervisor" | "approver" | "auditor") => ({ authorization: `Bearer ${await issueToken(key, { subject, role, ttlSeconds: 600 })}` });
  const delegate = async (req: Req) => (await client.unary(DelegationService.method.delegate, req, { metadata: await as("alice", "supervisor"), deadline: Date.now() + 10_000 })).result!;
  const desk = createApprovalDesk(client, (subject, role) => issueToken(key, { subject, role, ttlSeconds: 600 }));

  // test.sleep (5 money micros each): two within a 5 s SLO, one 300 ms over a 100 ms SLO, one without an SLO.
  const sleeps = await Promise.all([
    delegate({ taskId: "sleep-met-1", intent: "test.sleep", inputs: { ms: 10 }, slo: { targetDuration: ms(5000) } }),
    delegate({ taskId: "sleep-met-2", intent: "test.sleep", inputs: { ms: 20 }, slo: { targetDuration: ms(5000) } }),
    delegate({ taskId: "sleep-missed", intent: "test.sleep", inputs: { ms: 300 }, slo: { targetDuration: ms(100) } }),
    delegate({ taskId: "sleep-no-slo", intent: "test.sleep", inputs: { ms: 0 } }),
  ]);
  expect(sleeps.map((r) => r.state)).toEqual(Array(4).fill(TaskState.COMPLETED));
  // test.stubborn: two tasks at a known cost.
  for (const taskId of ["priced-1", "priced-2"]) expect((await delegate({ taskId, intent: "test.stubborn", inputs: {} })).state).toBe(TaskState.COMPLETED);
  // test.echo: one plain, one refused by the worker's policy, one held and approved, one held and denied.
  expect((await delegate({ taskId: "echo-plain", intent: "test.echo", inputs: { text: "hi" } })).state).toBe(TaskState.COMPLETED);
  const refused = await rejection(delegate({ taskId: "echo-refused", intent: "test.echo", inputs: { text: "hi" }, constraints: { allowedTools: ["search"] } }));
  expect([refused.code, errorDetailOf(refused)?.reason]).toEqual([Code.PermissionDenied, "tool_not_allowed"]);
  for (const [taskId, decision] of [["echo-approved", ApprovalDecision.APPROVE], ["echo-denied", ApprovalDecision.DENY]] as const) {
    expect((await delegate({ taskId, intent: "test.echo", inputs: { text: `risky ${taskId}` } })).state).toBe(TaskState.AWAITING_APPROVAL);
    await desk.decide((await desk.pending(taskId)).approvalId, decision);
    expect((await desk.terminal(taskId)).state).toBe(decision === ApprovalDecision.APPROVE ? TaskState.COMPLETED : TaskState.REJECTED);
  }

  gatewayMetrics = await gatewayReader.metrics();
  workerMetrics = await workerReader.metrics();
  // Stopping flushes the fact stores.
  client.close();
  await agent.stop();
  await gateway.stop();
  facts = readMetricStores(join(home, "data"));
}, 60_000);

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

const taskFacts = (service: string) => facts.filter((f): f is TaskFact => f.kind === "task" && f.service === service);

describe("the metric facts", () => {
  it("records each task's final outcome where it ran, with its SLO and cost", () => {
    const worker = taskFacts("worker-a").map((f) => [f.taskId, f.intent, f.agent, f.state, f.sloMs, f.moneyMicros, f.inputTokens, f.outputTokens]).sort();
    expect(worker).toEqual([
      ["echo-approved", "test.echo", "worker-a", "completed", undefined, 0, 0, 0],
      ["echo-plain", "test.echo", "worker-a", "completed", undefined, 0, 0, 0],
      ["echo-refused", "test.echo", "worker-a", "rejected", undefined, 0, 0, 0],
      ["priced-1", "test.stubborn", "worker-a", "completed", undefined, 2500, 120, 30],
      ["priced-2", "test.stubborn", "worker-a", "completed", undefined, 2500, 120, 30],
      ["sleep-met-1", "test.sleep", "worker-a", "completed", 5000, 5, 0, 0],
      ["sleep-met-2", "test.sleep", "worker-a", "completed", 5000, 5, 0, 0],
      ["sleep-missed", "test.sleep", "worker-a", "completed", 100, 5, 0, 0],
      ["sleep-no-slo", "test.sleep", "worker-a", "completed", undefined, 5, 0, 0],
    ]);
    const missed = taskFacts("worker-a").find((f) => f.taskId === "sleep-missed")!;
    expect(missed.durationMs).toBeGreaterThanOrEqual(300);
    // The refusal never ran: no duration.
    expect(taskFacts("worker-a").find((f) => f.taskId === "echo-refused")!.durationMs).toBeUndefined();
  });

  it("records escalations where they happen: the approvals at the gateway, the refusal at the worker", () => {
    const escalations = facts.filter((f) => f.kind === "escalation").map((f) => [f.service, f.taskId, f.escalation, f.reason]).sort();
    expect(escalations).toEqual([
      ["gateway", "echo-approved", "approval_requested", "approval_required"],
      ["gateway", "echo-denied", "approval_requested", "approval_required"],
      ["worker-a", "echo-refused", "refused", "tool_not_allowed"],
    ]);
    expect(taskFacts("gateway").find((f) => f.taskId === "echo-denied")).toMatchObject({ agent: "gateway", state: "rejected", reason: "approval_denied" });
  });

  it("keeps every fact within the run's time", () => {
    expect(facts.every((f) => f.t >= started && f.t <= Date.now())).toBe(true);
  });
});

/** The data points of `name` in `metrics`, as [attributes, value]. */
function points(metrics: MetricData[], name: string): [Record<string, unknown>, number][] {
  const m = metrics.find((x) => x.descriptor.name === name);
  if (m === undefined) return [];
  return (m.dataPoints as DataPoint<number | Histogram>[]).map((p) => [p.attributes, m.dataPointType === DataPointType.HISTOGRAM ? (p.value as Histogram).count : p.value as number]);
}

const byKey = (pts: [Record<string, unknown>, number][], keys: string[]) =>
  Object.fromEntries(pts.map(([a, v]) => [keys.map((k) => String(a[k])).join("|"), v]));

describe("the OpenTelemetry instruments", () => {
  it("count tasks by intent, agent and final state at the worker", () => {
    expect(byKey(points(workerMetrics, "agentmesh.tasks"), ["agentmesh.intent", "agentmesh.agent", "agentmesh.state"])).toEqual({
      "test.sleep|worker-a|completed": 4,
      "test.stubborn|worker-a|completed": 2,
      "test.echo|worker-a|completed": 2,
      "test.echo|worker-a|rejected": 1,
    });
  });

  it("record durations in seconds, split by whether the SLO was met, and count met and missed SLOs", () => {
    const duration = workerMetrics.find((m) => m.descriptor.name === "agentmesh.task.duration")!;
    expect(duration.descriptor.unit).toBe("s");
    expect(byKey(points(workerMetrics, "agentmesh.task.duration").filter(([a]) => a["agentmesh.intent"] === "test.sleep"), ["agentmesh.slo_met"])).toEqual({
      true: 2, false: 1, undefined: 1,
    });
    expect(byKey(points(workerMetrics, "agentmesh.task.slo"), ["agentmesh.intent", "agentmesh.slo"])).toEqual({ "test.sleep|met": 2, "test.sleep|missed": 1 });
  });

  it("count escalations by kind and reason where they happen", () => {
    const keys = ["agentmesh.intent", "agentmesh.agent", "agentmesh.escalation.kind", "agentmesh.escalation.reason"];
    expect(byKey(points(gatewayMetrics, "agentmesh.escalations"), keys)).toEqual({ "test.echo|gateway|approval_requested|approval_required": 2 });
    expect(byKey(points(workerMetrics, "agentmesh.escalations"), keys)).toEqual({ "test.echo|worker-a|refused|tool_not_allowed": 1 });
  });

  it("add up the cost of completed tasks", () => {
    expect(byKey(points(workerMetrics, "agentmesh.task.cost.money_micros"), ["agentmesh.intent"])).toMatchObject({ "test.stubborn": 5000, "test.sleep": 20 });
    expect(byKey(points(workerMetrics, "agentmesh.task.cost.tokens").filter(([a]) => a["agentmesh.intent"] === "test.stubborn"), ["agentmesh.token.type"])).toEqual({ input: 240, output: 60 });
  });
});

describe("agentmesh report", () => {
  const dataDir = () => join(home, "data");

  it("gives each intent × agent its tasks, SLA hit rate, escalation rate and cost per successful task, each task counted once", () => {
    const rows = reportFor({ dataDir: dataDir() }).map(({ p50Ms, p95Ms, ...r }) => ({ ...r, ran: p50Ms !== undefined && p95Ms !== undefined }));
    expect(rows).toEqual([
      {
        intent: "test.echo", agent: "gateway", tasks: 1, completed: 0, failed: 0, rejected: 1, withSlo: 0, sloMet: 0, slaHitRate: undefined,
        approvalsRequested: 1, refusals: 0, escalationRate: 1, moneyMicrosPerSuccess: undefined, tokensPerSuccess: undefined, ran: false,
      },
      {
        intent: "test.echo", agent: "worker-a", tasks: 3, completed: 2, failed: 0, rejected: 1, withSlo: 0, sloMet: 0, slaHitRate: undefined,
        approvalsRequested: 1, refusals: 1, escalationRate: 2 / 3, moneyMicrosPerSuccess: 0, tokensPerSuccess: 0, ran: true,
      },
      {
        intent: "test.sleep", agent: "worker-a", tasks: 4, completed: 4, failed: 0, rejected: 0, withSlo: 3, sloMet: 2, slaHitRate: 2 / 3,
        approvalsRequested: 0, refusals: 0, escalationRate: 0, moneyMicrosPerSuccess: 5, tokensPerSuccess: 0, ran: true,
      },
      {
        intent: "test.stubborn", agent: "worker-a", tasks: 2, completed: 2, failed: 0, rejected: 0, withSlo: 0, sloMet: 0, slaHitRate: undefined,
        approvalsRequested: 0, refusals: 0, escalationRate: 0, moneyMicrosPerSuccess: 2500, tokensPerSuccess: 150, ran: true,
      },
    ]);
    const sleep = reportFor({ dataDir: dataDir(), intent: "test.sleep" });
    expect(sleep).toHaveLength(1);
    // Nearest rank of four: p50 is the second shortest (a short sleep), p95 the longest (the 300 ms one).
    expect(sleep[0]!.p50Ms).toBeLessThan(300);
    expect(sleep[0]!.p95Ms).toBeGreaterThanOrEqual(300);
  });

  it("prints the table and applies the time window", () => {
    const text = reportText({ dataDir: dataDir(), intent: "test.echo" });
    const lines = text.trimEnd().split("\n");
    expect(lines[0]!.split(/\s{2,}/)).toEqual(["INTENT", "AGENT", "TASKS", "COMPLETED", "FAILED", "REJECTED", "SLA HIT", "ESCALATIONS", "ESC RATE", "MONEY/OK (µ)", "TOKENS/OK", "P50", "P95"]);
    expect(lines[1]!.split(/\s{2,}/)).toEqual(["test.echo", "gateway", "1", "0", "0", "1", "-", "1 appr + 0 ref", "100.0%", "-", "-", "-", "-"]);
    expect(lines[2]!.split(/\s{2,}/).slice(0, 11)).toEqual(["test.echo", "worker-a", "3", "2", "0", "1", "-", "1 appr + 1 ref", "66.7%", "0", "0.0"]);
    expect(reportText({ dataDir: dataDir(), since: "1m", now: () => Date.now() + 3_600_000 })).toMatch(/^no tasks ended in the last 1m/);
    expect(reportRows(facts, { sinceMs: started }).reduce((n, r) => n + r.tasks, 0)).toBe(10);
  });

  it("runs as `agentmesh report` from the command line", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "cli/main.ts", "report", "--since", "1h", "--intent", "test.sleep", "--data-dir", dataDir()], {
      env: { ...process.env, AGENTMESH_HOME: home },
    });
    const lines = stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]!.split(/\s{2,}/).slice(0, 11)).toEqual(["test.sleep", "worker-a", "4", "4", "0", "0", "66.7% (2/3)", "0 appr + 0 ref", "0.0%", "5", "0.0"]);
  }, 30_000);
});
