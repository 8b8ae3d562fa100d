import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ResultSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { createLogger, createSchemaValidator } from "../../mesh/index.js";
import type { SchemaValidator, SubDelegation, TaskContext } from "../../mesh/index.js";
import { createLaunchCampaignDefinition } from "./agent.js";
import type { LaunchCampaignInputs } from "./intent.js";

const goal: LaunchCampaignInputs = { goal: "Launch Acme", product: "Acme", audience: "marketers", tone: "friendly", channel: "email", keyMessages: ["Drafts copy"], callToAction: "Try it" };
const copy = { headline: "Meet Acme", body: "Acme drafts your campaign copy while you get on with the launch.", callToAction: "Try it" };

/** A validator that records the roots it validated under, around a real one. */
function recordingValidator(): SchemaValidator & { readonly roots: string[] } {
  const inner = createSchemaValidator();
  const roots: string[] = [];
  return {
    roots,
    compile: (schema) => inner.compile(schema),
    validate(schema, value, root) {
      roots.push(root);
      return inner.validate(schema, value, root);
    },
  };
}

/**
 * The parts of a task context `campaign.launch` uses: `delegate` answers every
 * step in process with a completed result, so no gateway is needed; the
 * supervisor declares no tools, so `tool` refuses like the mesh's would, and it
 * neither reads nor writes artifacts.
 */
function inProcessContext(): TaskContext {
  const delegate = (sub: SubDelegation) =>
    Promise.resolve(create(ResultSchema, { taskId: `t.${sub.key}`, intent: sub.intent, agent: "copywriter", state: TaskState.COMPLETED, outputs: copy, confidence: 0.9 }));
  return {
    taskId: "t", correlationId: "t", intent: "campaign.launch", caller: { subject: "alice", role: "supervisor", expiresAt: 0 }, depth: 0,
    signal: new AbortController().signal, deadline: undefined, constraints: undefined, artifacts: [], logger: createLogger("test", "error"), delegate,
    tool: (name) => {
      throw new Error(`campaign.launch does not declare tool ${name}`);
    },
    fetchArtifact: () => Promise.reject(new Error("campaign.launch reads no artifacts")),
    putArtifact: () => Promise.reject(new Error("campaign.launch writes no artifacts")),
  };
}

describe("createLaunchCampaignDefinition", () => {
  it("reviews every step's result with the validator of the agent it is created for", async () => {
    const schemas = recordingValidator();
    const outcome = await createLaunchCampaignDefinition(schemas).handle(goal, inProcessContext());
    expect([outcome.outputs.copy, outcome.outputs.steps.map((s) => [s.key, s.accepted])]).toEqual([copy, [["draft", true]]]);
    expect(schemas.roots).toEqual(["outputs"]);
  });
});
