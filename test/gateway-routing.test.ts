/**
 * The gateway's routing and task services against real agents on loopback:
 * balancing across replicas, following a task with WatchResult, cancelling it
 * through the gateway, and who may register what (an agent offers only the
 * intents the gateway's offers file grants it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectError } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { Protocol, RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createGrpcClient, errorDetailOf } from "../mesh/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { rejection } from "./support/rejection.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

let mesh: TestMesh;
let client: GrpcClient;
let md: Record<string, string>;
const logA = createExecutionLog();
const logB = createExecutionLog();

beforeAll(async () => {
  mesh = await startTestMesh({}, { twin: ["test.echo", "test.sleep"], rogue: ["test.fail"] });
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
  const card = (name: string, intents = ["test.echo"]) => ({
    name, intents: intents.map((i) => ({ name: i, inputSchema: { type: "object" }, outputSchema: { type: "object" } })), endpoints: [{ protocol: Protocol.GRPC, address: "127.0.0.1:1" }],
  });
  const routedTo = (intent: string) => mesh.gateway.table.list(intent).map((a) => [a.card?.name, a.instances.map((i) => i.instanceId)]);

  it("refuses a card offering an intent granted to another agent, and keeps routing that intent to the real worker", async () => {
    const asRogue = { authorization: `Bearer ${await mesh.token("rogue", "worker")}` };
    const before = routedTo("test.echo");
    const err = await client.unary(RegistryService.method.register, { card: card("rogue", ["test.fail", "test.echo", "test.sleep"]), instanceId: "rogue-1" }, { metadata: asRogue }).catch((e: unknown) => e as ConnectError);
    expect([(err as ConnectError).code, (err as ConnectError).rawMessage, errorDetailOf(err as ConnectError)?.reason, errorDetailOf(err as ConnectError)?.metadata]).toEqual([
      Code.PermissionDenied,
      "agent rogue may not offer test.echo, test.sleep: the gateway grants intents to agents in the file AGENTMESH_AGENT_OFFERS names (and by their static cards in AGENTMESH_AGENT_CARDS)",
      "intent_not_allowed",
      { agent: "rogue", intents: "test.echo,test.sleep" },
    ]);
    expect([routedTo("test.echo"), routedTo("test.fail")]).toEqual([before, []]);
    expect(before).toEqual([["twin", ["twin-0", "twin-1"]]]);
    const res = await client.unary(DelegationService.method.delegate, { taskId: "after-rogue", intent: "test.echo", inputs: { text: "real" } }, { metadata: md });
    expect([res.result?.state, res.result?.agent, res.result?.outputs]).toEqual([TaskState.COMPLETED, "twin", { text: "real" }]);
    expect([...logA.entries, ...logB.entries].filter((e) => e === "after-rogue")).toEqual(["after-rogue"]);
  });

  it("refuses every intent of an agent the offers file does not name", async () => {
    const asMallory = { authorization: `Bearer ${await mesh.token("mallory", "supervisor")}` };
    const err = await client.unary(RegistryService.method.register, { card: card("mallory"), instanceId: "m-1" }, { metadata: asMallory }).catch((e: unknown) => e as ConnectError);
    expect([(err as ConnectError).code, errorDetailOf(err as ConnectError)?.reason, errorDetailOf(err as ConnectError)?.metadata]).toEqual([
      Code.PermissionDenied, "intent_not_allowed", { agent: "mallory", intents: "test.echo" },
    ]);
    expect(routedTo("test.echo")).toEqual([["twin", ["twin-0", "twin-1"]]]);
  });

  it("accepts a card offering only intents granted to its agent", async () => {
    const asRogue = { authorization: `Bearer ${await mesh.token("rogue", "worker")}` };
    const res = await client.unary(RegistryService.method.register, { card: card("rogue", ["test.fail"]), instanceId: "rogue-2" }, { metadata: asRogue });
    expect(res.leaseTtl?.seconds).toBe(10n);
    expect(routedTo("test.fail")).toEqual([["rogue", ["rogue-2"]]]);
    await client.unary(RegistryService.method.deregister, { agent: "rogue", instanceId: "rogue-2" }, { metadata: asRogue });
    expect(routedTo("test.fail")).toEqual([]);
  });

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

describe("retries", () => {
  it("moves a call that never reached a replica (nothing listens there) to a live one", async () => {
    const card = mesh.gateway.table.list("test.echo")[0]!.card!;
    mesh.gateway.table.register({ ...card, endpoints: [{ $typeName: "agentmesh.v1.Endpoint", protocol: Protocol.GRPC, address: "127.0.0.1:1" }] }, "dead");
    try {
      for (let i = 0; i < 4; i++) {
        const res = await client.unary(DelegationService.method.delegate, { taskId: `dead-${i}`, intent: "test.echo", inputs: { text: "x" } }, { metadata: md });
        expect(res.result?.state).toBe(TaskState.COMPLETED);
      }
      const listed = await client.unary(RegistryService.method.listAgents, { intent: "test.echo" }, { metadata: md });
      expect(listed.agents[0]!.instances.find((i) => i.instanceId === "dead")?.healthy).toBe(false);
    } finally {
      mesh.gateway.table.deregister("twin", "dead");
    }
  });

  it("sends a retry of a task to the replica that ran it before", async () => {
    const taskId = "sticky-1";
    const req = (deadlineMs: number) => ({ taskId, intent: "test.sleep", inputs: { ms: 300 }, constraints: { deadline: timestampFromMs(Date.now() + deadlineMs) } });
    const first = await rejection(client.unary(DelegationService.method.delegate, req(100), { metadata: md }));
    expect(first.code).toBe(Code.DeadlineExceeded);
    // Let the replica record the failure and release the task.
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 2; i++) {
      const res = await client.unary(DelegationService.method.delegate, { taskId: `between-${i}`, intent: "test.echo", inputs: { text: "x" } }, { metadata: md });
      expect(res.result?.state).toBe(TaskState.COMPLETED);
    }
    const second = await client.unary(DelegationService.method.delegate, req(5_000), { metadata: md });
    expect(second.result?.state).toBe(TaskState.COMPLETED);
    const runs = [logA.entries.filter((e) => e === taskId).length, logB.entries.filter((e) => e === taskId).length];
    expect(runs.sort()).toEqual([0, 2]);
  });
});
