/**
 * The committed policy bundle (policy/build, from `npm run policy:build`) in the
 * mesh: it loads, and a gateway and an agent running it admit a supervisor's test
 * call and refuse an auditor's.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, errorDetailOf, loadPolicyBundle } from "../mesh/index.js";
import type { GrpcClient, Role } from "../mesh/index.js";
import { rejection } from "./support/rejection.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

const bundle = fileURLToPath(new URL("../policy/build", import.meta.url));
const manifest = JSON.parse(readFileSync(`${bundle}/manifest.json`, "utf8")) as { revision: string; digest: string };

describe("the committed policy bundle", () => {
  let mesh: TestMesh;
  let client: GrpcClient;
  beforeAll(async () => {
    mesh = await startTestMesh({ AGENTMESH_POLICY_DIR: bundle });
    await mesh.startAgent("worker-a", testIntents(createExecutionLog()));
    client = createGrpcClient(mesh.grpcAddress);
  });
  afterAll(async () => {
    client.close();
    await mesh.stop();
  });

  const delegateAs = async (subject: string, role: Role, taskId: string) =>
    client.unary(DelegationService.method.delegate, { taskId, intent: "test.echo", inputs: { text: "hi" } }, {
      metadata: { authorization: `Bearer ${await mesh.token(subject, role)}` }, deadline: Date.now() + 10_000,
    });

  it("loads with its manifest's revision and digest", async () => {
    const engine = await loadPolicyBundle(bundle);
    expect({ revision: engine.revision, digest: engine.digest }).toEqual({ revision: manifest.revision, digest: manifest.digest });
  });

  it("admits a supervisor's test call at the gateway and the agent", async () => {
    const { result } = await delegateAs("alice", "supervisor", "real-1");
    expect([result?.state, result?.decision?.allow, result?.decision?.revision]).toEqual([TaskState.COMPLETED, true, manifest.revision]);
  });

  it("refuses an auditor's delegation with role_not_allowed first among its reasons", async () => {
    const err = await rejection(delegateAs("audrey", "auditor", "real-2"));
    expect([err.code, errorDetailOf(err)?.reason, errorDetailOf(err)?.policyReasons.map((r) => r.code)]).toEqual([Code.PermissionDenied, "role_not_allowed", ["role_not_allowed", "scope_missing"]]);
  });
});
