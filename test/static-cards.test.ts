/**
 * Agent cards from the gateway's configuration file: a replica listed there is
 * routed to without registering, and a bad card stops the gateway from starting.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { readGatewayConfig, startGateway } from "../gateway/index.js";
import type { RunningGateway } from "../gateway/index.js";
import { createGrpcClient, createLogger, ensureDevKeys, issueToken, loadSigningKey, readMeshConfig, startAgent } from "../mesh/index.js";
import type { RunningAgent } from "../mesh/index.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";

const home = mkdtempSync(join(tmpdir(), "agentmesh-static-"));
const env = { AGENTMESH_HOME: home, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0", AGENTMESH_CONNECT_ADDRESS: "off", AGENTMESH_SHUTDOWN_GRACE_MS: "1000" };
const quiet = createLogger("test", "error");
let agent: RunningAgent;
let gateway: RunningGateway;

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
      intents: [{ name: "test.echo", inputSchema: { type: "object", required: ["text"], properties: { text: { type: "string" } } }, outputSchema: { type: "object" } }],
      endpoints: [{ protocol: "PROTOCOL_GRPC", address: `127.0.0.1:${agent.grpcPort}` }],
    }],
  }));
  gateway = await startGateway(readGatewayConfig({ ...env, AGENTMESH_AGENT_CARDS: cards }), { logger: quiet });
});
afterAll(async () => {
  await agent.stop();
  await gateway.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("static agent cards", () => {
  it("routes to a replica listed in the cards file", async () => {
    const client = createGrpcClient(`127.0.0.1:${gateway.grpcPort}`);
    const token = await issueToken(await loadSigningKey(join(home, "keys", "signing-key.jwk.json")), { subject: "alice", role: "supervisor" });
    try {
      const res = await client.unary(DelegationService.method.delegate, { taskId: "static-1", intent: "test.echo", inputs: { text: "static" } }, { metadata: { authorization: `Bearer ${token}` } });
      expect([res.result?.state, res.result?.agent, res.result?.outputs]).toEqual([TaskState.COMPLETED, "static-echo", { text: "static" }]);
    } finally {
      client.close();
    }
  });

  it("refuses to start with a card that has no gRPC endpoint", async () => {
    const bad = join(home, "bad-cards.json");
    writeFileSync(bad, JSON.stringify({ agents: [{ name: "broken", intents: [{ name: "test.echo", inputSchema: {}, outputSchema: {} }], endpoints: [] }] }));
    await expect(startGateway(readGatewayConfig({ ...env, AGENTMESH_AGENT_CARDS: bad }), { logger: quiet })).rejects.toThrow(
      `${bad}: agents[0] (broken): card.endpoints must include a PROTOCOL_GRPC endpoint`,
    );
  });
});
