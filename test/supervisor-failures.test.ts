/**
 * The supervisor against a real gateway: a step whose sub-task fails in a way a
 * retry may fix is passed on with its own code, so a retry of the campaign with
 * the same task id runs again; a step that fails for good rejects the plan.
 * The copywriter is a stand-in that fails as each test scripts it, and the
 * segmenter one that answers slowly; they run under the agents' own names, so
 * the policy (the committed bundle, on every service) grants them the tool
 * scopes of the intents they stand in for.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, defineIntent, errorDetailOf, meshError } from "../mesh/index.js";
import type { GrpcClient, IntentDefinition } from "../mesh/index.js";
import { readServiceConfig } from "../services/shared/service-config.js";
import { startSupervisor } from "../services/supervisor/agent.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

let mesh: TestMesh;
let client: GrpcClient;
let token: string;
/** Codes the stand-in fails with, one per execution, before it starts succeeding. */
const scriptedFailures: Code[] = [];
/** Task ids of the stand-in's executions. */
const executions: string[] = [];

/** A worker intent that stands in for a real service: any inputs, any outputs, no tools. */
function standIn(name: string, description: string, handle: IntentDefinition<Record<string, unknown>, Record<string, unknown>>["handle"]): IntentDefinition<never, never> {
  return defineIntent({ name, description, inputSchema: { type: "object" }, outputSchema: { type: "object" }, tools: [], requiredScopes: [], handle }) as IntentDefinition<never, never>;
}

const scriptedCopyDraft = standIn("copy.draft", "Stand-in for the copywriter: fails with the next scripted code, then drafts a fixed copy.", (_inputs, ctx) => {
  executions.push(ctx.taskId);
  const code = scriptedFailures.shift();
  if (code !== undefined) return Promise.reject(meshError(code, `scripted ${Code[code]}`, { reason: "scripted_failure" }));
  return Promise.resolve({
    outputs: { headline: "Meet Acme", body: "Acme drafts your campaign copy while you get on with the launch.", callToAction: "Try it" },
    rationale: "fixed copy", evidence: [], confidence: 0.9, toolCalls: 0,
  });
});

/** Task ids of the segmentation stand-in's finished executions. */
const segmented: string[] = [];

const slowLeadsSegment = standIn("leads.segment", "Stand-in for the segmenter: puts every lead in one segment after 300 ms.", async (_inputs, ctx) => {
  await new Promise((r) => setTimeout(r, 300));
  segmented.push(ctx.taskId);
  return { outputs: { segments: [{ name: "all", count: 1 }], rejectedRows: [] }, rationale: "one segment", evidence: [], confidence: 1, toolCalls: 0 };
});

beforeAll(async () => {
  mesh = await startTestMesh({}, { supervisor: ["campaign.launch"], copywriter: ["copy.draft"], segmenter: ["leads.segment"] });
  await mesh.startAgent("copywriter", [scriptedCopyDraft]);
  await mesh.startAgent("segmenter", [slowLeadsSegment]);
  const supervisor = await startSupervisor(readServiceConfig("supervisor", {
    ...mesh.env, AGENTMESH_INSTANCE_ID: "supervisor-0", AGENTMESH_DATA_DIR: join(mesh.home, "data", "supervisor"), AGENTMESH_LOG_LEVEL: "error",
  }));
  mesh.agents.push(supervisor);
  await supervisor.registered;
  client = createGrpcClient(mesh.grpcAddress);
  token = await mesh.token();
});

afterAll(async () => {
  client.close();
  await mesh.stop();
});

const goal = { goal: "Launch Acme", product: "Acme", audience: "marketers", tone: "friendly", channel: "email", keyMessages: ["Drafts copy"], callToAction: "Try it" };
const launch = (taskId: string, inputs: Record<string, unknown> = goal) =>
  client.unary(DelegationService.method.delegate, { taskId, intent: "campaign.launch", inputs: inputs as never }, { metadata: { authorization: `Bearer ${token}` }, deadline: Date.now() + 20_000 });

describe("campaign.launch when a step's sub-task fails", () => {
  it.each([
    ["UNAVAILABLE", Code.Unavailable], ["RESOURCE_EXHAUSTED", Code.ResourceExhausted], ["ABORTED", Code.Aborted],
    ["DEADLINE_EXCEEDED", Code.DeadlineExceeded], ["CANCELED", Code.Canceled],
  ])(
    "passes %s on as it is, and a retry with the same task id runs the plan again",
    async (_name, code) => {
      const taskId = `retry-${code}`;
      scriptedFailures.splice(0, Infinity, code);
      const err = await launch(taskId).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      expect([(err as ConnectError).code, (err as ConnectError).rawMessage, errorDetailOf(err as ConnectError)?.reason]).toEqual([code, `scripted ${Code[code]}`, "scripted_failure"]);

      const retried = await launch(taskId);
      expect([retried.result?.state, retried.result?.subtasks.map((s) => [s.taskId, s.state])]).toEqual([TaskState.COMPLETED, [[`${taskId}.draft`, TaskState.COMPLETED]]]);
      expect(executions.filter((id) => id === `${taskId}.draft`)).toEqual([`${taskId}.draft`, `${taskId}.draft`]);
    },
  );

  it("passes the failure on only after the steps still running have finished", async () => {
    scriptedFailures.splice(0, Infinity, Code.Unavailable);
    const err = await launch("parallel-1", { ...goal, leadsCsv: "name,employees\nAcme,5\n" }).catch((e: unknown) => e);
    expect([(err as ConnectError).code, segmented]).toEqual([Code.Unavailable, ["parallel-1.segment"]]);
  });

  it("rejects the plan with FAILED_PRECONDITION when the sub-task fails for good", async () => {
    scriptedFailures.splice(0, Infinity, Code.InvalidArgument);
    const res = await launch("final-1");
    expect([res.result?.state, res.result?.error?.code, res.result?.error?.reason, res.result?.error?.message, res.result?.error?.retryable]).toEqual([
      TaskState.FAILED, "failed_precondition", "plan_step_rejected",
      "plan product-launch did not succeed: draft (the task ended FAILED: scripted InvalidArgument)", false,
    ]);
    const again = await launch("final-1");
    expect(again.result).toEqual(res.result);
    expect(executions.filter((id) => id === "final-1.draft")).toEqual(["final-1.draft"]);
  });
});
