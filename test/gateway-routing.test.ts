/**
 * The gateway's routing and task services against real agents on loopback:
 * balancing across replicas, following a task with WatchResult, cancelling it
 * through the gateway, and who may register what.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectError } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { Protocol, RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, errorDetailOf } from "../mesh/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

let mesh: TestMesh;
let client: GrpcClient;
let md: Record<string, string>;
const logA = createExecutionLog();
const logB = createExecutionLog();

beforeAll(async () => {
  mesh = await startTestMesh();
  await mesh.startAgent("twin", testIntents(logA, ["test.echo", "test.sleep"]));
  await mesh.startAgent("twin", testIntents(logB, ["test.echo", "test.sleep"]));
  client = createGrpcClient(mesh.grpcAddress);
  md = { authorization: `Bearer ${await mesh.token()}` };
});
afterAll(async () => {
  client.close();
  await mesh.stop();
});

describe("routing", () => {
  it("balances calls across the replicas of an agent", async () => {
    for (let i = 0; i < 6; i++) {
      await client.unary(DelegationService.method.delegate, { taskId: `lb-${i}`, intent: "test.echo", inputs: { text: "x" } }, { metadata: md });
    }
    expect([logA.entries.filter((e) => e.startsWith("lb-")).length, logB.entries.filter((e) => e.startsWith("lb-")).length]).toEqual([3, 3]);
  });

  it("lists both replicas of the agent", async () => {
    const res = await client.unary(RegistryService.method.listAgents, { intent: "test.echo" }, { metadata: md });
    expect(res.agents.map((a) => [a.card?.name, a.instances.length, a.instances.every((i) => i.healthy)])).toEqual([["twin", 2, true]]);
  });
});

describe("following and cancelling a task through the gateway", () => {
  it("streams the task's states until it is terminal", async () => {
    const pending = client.unary(DelegationService.method.delegate, { taskId: "watch-1", intent: "test.sleep", inputs: { ms: 300 } }, { metadata: md });
    await new Promise((r) => setTimeout(r, 100));
    const states: TaskState[] = [];
    for await (const ev of client.serverStream(DelegationService.method.watchResult, { taskId: "watch-1" }, { metadata: md })) states.push(ev.state);
    expect(states).toEqual([TaskState.WORKING, TaskState.COMPLETED]);
    expect((await pending).result?.state).toBe(TaskState.COMPLETED);
  });

  it("cancels a running task: the delegator gets the CANCELED result and the handler stops", async () => {
    const pending = client.unary(DelegationService.method.delegate, { taskId: "cancel-1", intent: "test.sleep", inputs: { ms: 5_000 } }, { metadata: md });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const canceled = await client.unary(DelegationService.method.cancel, { taskId: "cancel-1", reason: "no longer needed" }, { metadata: md });
    expect([canceled.result?.state, canceled.result?.error?.message]).toEqual([TaskState.CANCELED, "no longer needed"]);
    const res = await pending;
    expect([res.result?.state, Date.now() - started < 2_000]).toEqual([TaskState.CANCELED, true]);
    const again = await client.unary(DelegationService.method.getResult, { taskId: "cancel-1" }, { metadata: md });
    expect(again.state).toBe(TaskState.CANCELED);
  });

  it("answers NOT_FOUND for an unknown task", async () => {
    const err = await client.unary(DelegationService.method.getResult, { taskId: "never-seen" }, { metadata: md }).catch((e: unknown) => e as ConnectError);
    expect([(err as ConnectError).code, (err as ConnectError).rawMessage]).toEqual([Code.NotFound, "no task with id never-seen"]);
  });
});

describe("registration", () => {
  const card = (name: string) => ({ name, intents: [{ name: "test.echo", inputSchema: { type: "object" }, outputSchema: { type: "object" } }], endpoints: [{ protocol: Protocol.GRPC, address: "127.0.0.1:1" }] });

  it("lets an agent register only under its own name", async () => {
    const asBob = { authorization: `Bearer ${await mesh.token("bob", "worker")}` };
    const err = await client.unary(RegistryService.method.register, { card: card("twin"), instanceId: "evil-1" }, { metadata: asBob }).catch((e: unknown) => e as ConnectError);
    expect([(err as ConnectError).code, (err as ConnectError).rawMessage, errorDetailOf(err as ConnectError)?.reason]).toEqual([
      Code.PermissionDenied, "bob may not register or renew agent twin: an agent registers under its own name only", "not_own_registration",
    ]);
  });

  it("refuses registration from a role that is not an agent", async () => {
    const asAuditor = { authorization: `Bearer ${await mesh.token("carol", "auditor")}` };
    const err = await client.unary(RegistryService.method.register, { card: card("carol"), instanceId: "c-1" }, { metadata: asAuditor }).catch((e: unknown) => e as ConnectError);
    expect([(err as ConnectError).code, errorDetailOf(err as ConnectError)?.reason]).toEqual([Code.PermissionDenied, "role_not_allowed"]);
  });

  it("refuses a card without a gRPC endpoint or with a broken schema", async () => {
    const asDave = { authorization: `Bearer ${await mesh.token("dave", "worker")}` };
    const bad = { name: "dave", intents: [{ name: "test.echo", inputSchema: { type: "no-such-type" }, outputSchema: { type: "object" } }], endpoints: [] };
    const err = await client.unary(RegistryService.method.register, { card: bad, instanceId: "d-1" }, { metadata: asDave }).catch((e: unknown) => e as ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect(errorDetailOf(err as ConnectError)?.violations.map((v) => v.field)).toEqual(["card.intents[0].input_schema", "card.endpoints"]);
  });
});
