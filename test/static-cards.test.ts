/**
 * Agent cards from the gateway's configuration file: a replica listed there is
 * routed to without registering, a static card grants its agent its intents and
 * fixes their schemas whatever registrations say, and a bad card stops the gateway
 * from starting.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { Protocol, RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { readGatewayConfig, startGateway } from "../gateway/index.js";
import type { RunningGateway } from "../gateway/index.js";
import { createGrpcClient, createLogger, ensureDevKeys, errorDetailOf, issueToken, loadSigningKey, readMeshConfig, startAgent } from "../mesh/index.js";
import type { GrpcClient, Role, RunningAgent } from "../mesh/index.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { writeOffersFile } from "./support/test-mesh.js";

const home = mkdtempSync(join(tmpdir(), "agentmesh-static-"));
const env = { AGENTMESH_HOME: home, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0", AGENTMESH_CONNECT_ADDRESS: "off", AGENTMESH_SHUTDOWN_GRACE_MS: "1000" };
const quiet = createLogger("test", "error");
let agent: RunningAgent;
let gateway: RunningGateway;
let client: GrpcClient;
const strictEcho: JsonObject = { type: "object", required: ["text"], properties: { text: { type: "string" } } };

beforeAll(async () => {
  await ensureDevKeys(join(home, "keys"));
  // The agent points at no gateway, so it cannot register: only the static card routes to it.
  agent = await startAgent({
    name: "static-echo", description: "", version: "0", role: "worker", intents: testIntents(createExecutionLog(), ["test.echo"]), tools: [], scopes: [],
    config: readMeshConfig({ ...env, AGENTMESH_GATEWAY: "127.0.0.1:1" }, { grpcAddress: "127.0.0.1:0", connectAddress: "off" }), logger: quiet,
  });
  const cards = join(home, "cards.json");
  writeFileSync(cards, JSON.stringify({
    agents: [{
      name: "static-echo",
      intents: [{ name: "test.echo", inputSchema: strictEcho, outputSchema: { type: "object" } }],
      endpoints: [{ protocol: "PROTOCOL_GRPC", address: `127.0.0.1:${agent.grpcPort}` }],
    }],
  }));
  // "loose" and "later" may offer test.echo by the offers file; static-echo by its static card only.
  const offers = writeOffersFile(home, { loose: ["test.echo", "test.sleep"], later: ["test.sleep"] });
  gateway = await startGateway(readGatewayConfig({ ...env, AGENTMESH_AGENT_CARDS: cards, AGENTMESH_AGENT_OFFERS: offers }), { logger: quiet });
  client = createGrpcClient(`127.0.0.1:${gateway.grpcPort}`);
});
afterAll(async () => {
  client.close();
  await agent.stop();
  await gateway.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("static agent cards", () => {
  it("routes to a replica listed in the cards file", async () => {
    const res = await client.unary(DelegationService.method.delegate, { taskId: "static-1", intent: "test.echo", inputs: { text: "static" } }, { metadata: await as("alice") });
    expect([res.result?.state, res.result?.agent, res.result?.outputs]).toEqual([TaskState.COMPLETED, "static-echo", { text: "static" }]);
  });

  it("refuses to start with a card that has no gRPC endpoint", async () => {
    const bad = join(home, "bad-cards.json");
    writeFileSync(bad, JSON.stringify({ agents: [{ name: "broken", intents: [{ name: "test.echo", inputSchema: {}, outputSchema: {} }], endpoints: [] }] }));
    await expect(startGateway(readGatewayConfig({ ...env, AGENTMESH_AGENT_CARDS: bad }), { logger: quiet })).rejects.toThrow(
      `${bad}: agents[0] (broken): card.endpoints must include a PROTOCOL_GRPC endpoint`,
    );
  });
});

/** Metadata of a call as `subject`, from the gateway's key. */
async function as(subject: string, role: Role = "supervisor"): Promise<Record<string, string>> {
  const token = await issueToken(await loadSigningKey(join(home, "keys", "signing-key.jwk.json")), { subject, role });
  return { authorization: `Bearer ${token}` };
}

/** Registers a replica of `agent` offering `intents` with the given input schema. */
async function register(agent: string, intents: string[], inputSchema: JsonObject, address = "127.0.0.1:1"): Promise<unknown> {
  const card = { name: agent, intents: intents.map((name) => ({ name, inputSchema, outputSchema: { type: "object" } })), endpoints: [{ protocol: Protocol.GRPC, address }] };
  return client.unary(RegistryService.method.register, { card, instanceId: `${agent}-1` }, { metadata: await as(agent, "worker") }).catch((e: unknown) => e);
}

async function deregister(agent: string): Promise<void> {
  await client.unary(RegistryService.method.deregister, { agent, instanceId: `${agent}-1` }, { metadata: await as(agent, "worker") });
}

async function delegateError(taskId: string, intent: string, inputs: JsonObject): Promise<[Code, string, string | undefined]> {
  const err = await client.unary(DelegationService.method.delegate, { taskId, intent, inputs }, { metadata: await as("alice") }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConnectError);
  return [(err as ConnectError).code, (err as ConnectError).rawMessage, errorDetailOf(err as ConnectError)?.reason];
}

describe("schemas at the gateway", () => {
  it("validates with the static card's input schema, whatever a registration of the intent says", async () => {
    expect(await register("loose", ["test.echo"], { type: "object" })).not.toBeInstanceOf(ConnectError);
    try {
      expect(await delegateError("schema-static", "test.echo", { text: 5 })).toEqual([
        Code.InvalidArgument, "inputs do not match the schema of test.echo: inputs.text must be string", "input_schema_violation",
      ]);
    } finally {
      await deregister("loose");
    }
  });

  it("validates with the most recent registration's schema when no static card offers the intent", async () => {
    expect(await register("loose", ["test.sleep"], { type: "object", required: ["ms"] })).not.toBeInstanceOf(ConnectError);
    expect(await register("later", ["test.sleep"], { type: "object", required: ["seconds"] })).not.toBeInstanceOf(ConnectError);
    try {
      expect(await delegateError("schema-latest", "test.sleep", { ms: 1 })).toEqual([
        Code.InvalidArgument, "inputs do not match the schema of test.sleep: inputs.seconds is required", "input_schema_violation",
      ]);
    } finally {
      await deregister("loose");
      await deregister("later");
    }
  });
});

describe("static cards as grants", () => {
  it("lets a static card's agent register the intents on its card", async () => {
    expect(await register("static-echo", ["test.echo"], strictEcho, `127.0.0.1:${agent.grpcPort}`)).not.toBeInstanceOf(ConnectError);
    await deregister("static-echo");
  });

  it("refuses a static card's agent an intent that is not on its card", async () => {
    const err = await register("static-echo", ["test.echo", "test.sleep"], strictEcho);
    expect(err).toBeInstanceOf(ConnectError);
    expect([(err as ConnectError).code, errorDetailOf(err as ConnectError)?.reason, errorDetailOf(err as ConnectError)?.metadata]).toEqual([
      Code.PermissionDenied, "intent_not_allowed", { agent: "static-echo", intents: "test.sleep" },
    ]);
  });
});
