/**
 * Tool calls in traces, through a real gateway and a worker serving the real
 * `docs.summarize` and `leads.segment` intents: each tool a handler runs through
 * `ctx.tool` is an `agentmesh.tool <name>` span under the worker's task span,
 * and the result's `cost.tool_calls` counts exactly those spans. A handler that
 * runs a tool its intent does not declare is rejected with `tool_not_allowed`.
 * Policy is the stand-in that admits every call: the committed policy refuses the
 * test mesh's unscoped agent and unclassified intents, and has tests of its own.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, defineIntent, toSpanRecord } from "../mesh/index.js";
import type { GrpcClient, SpanRecord } from "../mesh/index.js";
import { segmentLeadsDefinition } from "../services/segmenter/agent.js";
import { summarizeDefinition } from "../services/summarizer/agent.js";
import { riskyEchoPolicy } from "./support/stand-in-policy.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

/** Declares no tools, then runs one. */
const sneak = defineIntent<Record<string, never>, Record<string, never>>({
  name: "test.sneak",
  description: "Runs a tool it did not declare.",
  inputSchema: { type: "object" },
  outputSchema: { type: "object" },
  tools: [],
  requiredScopes: [],
  handle: (_inputs, ctx) => Promise.resolve({ outputs: ctx.tool("shell.exec", () => ({})), rationale: "ran", evidence: [], confidence: 1 }),
});

const exporter = new InMemorySpanExporter();
let mesh: TestMesh;
let client: GrpcClient;

beforeAll(async () => {
  mesh = await startTestMesh({}, { "worker-a": ["docs.summarize", "leads.segment", "test.sneak"] }, riskyEchoPolicy, exporter);
  await mesh.startAgent("worker-a", [summarizeDefinition, segmentLeadsDefinition, sneak] as never, {}, riskyEchoPolicy);
  client = createGrpcClient(mesh.grpcAddress);
});
afterAll(async () => {
  client.close();
  await mesh.stop();
});

async function delegate(intent: string, inputs: Record<string, unknown>): Promise<Result> {
  const taskId = `tools-${randomBytes(4).toString("hex")}`;
  const { result } = await client.unary(DelegationService.method.delegate, { taskId, intent, inputs: inputs as never }, {
    metadata: { authorization: `Bearer ${await mesh.token()}` }, deadline: Date.now() + 10_000,
  });
  return result!;
}

/** The worker's task span of `result` and its children, once the task span has ended. */
async function workerTask(result: Result): Promise<{ task: SpanRecord; children: SpanRecord[] }> {
  const spans = () => exporter.getFinishedSpans().map(toSpanRecord).filter((s) => s.traceId === result.traceId);
  const find = () => spans().find((s) => s.service === "worker-a" && s.name === `agentmesh.task ${result.intent}`);
  await vi.waitFor(() => expect(find()).toBeDefined(), { timeout: 5_000 });
  const task = find()!;
  return { task, children: spans().filter((s) => s.parentSpanId === task.spanId) };
}

const documents = [
  { title: "Launch", text: "Acme launches a new analytics dashboard. The dashboard tracks campaign spend." },
  { title: "Feedback", text: "Beta users praised the dashboard. Some users asked for alerts." },
  { title: "Pricing", text: "Pricing starts at $49 per month." },
];

describe("tool calls", () => {
  it.each([
    ["docs.summarize", { documents, maxSentences: 2 }, [
      ...documents.map(() => "text.split-sentences"), ...documents.map(() => "text.rank-sentences"),
    ]],
    ["leads.segment", { csv: "id,country\nL1,US\nL2,DE\n", rules: [{ segment: "us", when: [{ field: "country", op: "eq", value: "US" }] }] }, [
      "csv.parse", "rules.evaluate",
    ]],
  ])("of %s are spans under the worker's task span, as many as the result's cost.tool_calls", async (intent, inputs, tools) => {
    const result = await delegate(intent, inputs);
    expect([result.state, result.cost?.toolCalls, result.ownCost?.toolCalls]).toEqual([TaskState.COMPLETED, BigInt(tools.length), BigInt(tools.length)]);
    const { task, children } = await workerTask(result);
    const toolSpans = children.filter((s) => s.name.startsWith("agentmesh.tool "));
    expect(toolSpans.map((s) => [s.name, s.kind, s.attributes["agentmesh.tool.name"], s.attributes["agentmesh.task_id"], s.status.code])).toEqual(
      tools.map((t) => [`agentmesh.tool ${t}`, "internal", t, result.taskId, "unset"]),
    );
    expect(task.attributes["agentmesh.own_cost.tool_calls"]).toBe(toolSpans.length);
  });

  it("of a tool the intent does not declare are refused: the task is rejected with tool_not_allowed and no tool span", async () => {
    const result = await delegate("test.sneak", {});
    expect([result.state, result.error?.code, result.error?.reason, result.error?.message, result.cost?.toolCalls]).toEqual([
      TaskState.REJECTED, "permission_denied", "tool_not_allowed", "test.sneak does not declare tool shell.exec", 0n,
    ]);
    const { task, children } = await workerTask(result);
    expect(children).toEqual([]);
    expect(task.attributes).toMatchObject({ "agentmesh.state": "rejected", "agentmesh.error.reason": "tool_not_allowed" });
  });
});
