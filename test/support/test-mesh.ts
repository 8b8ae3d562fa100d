/**
 * An in-process mesh for integration tests: a real gateway and real agents on
 * loopback ports chosen by the OS, sharing a temporary home with fresh keys.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGatewayConfig, startGateway } from "../../gateway/index.js";
import type { RunningGateway } from "../../gateway/index.js";
import { createLogger, ensureDevKeys, issueToken, loadSigningKey, readMeshConfig, startAgent } from "../../mesh/index.js";
import type { IntentDefinition, Role, RunningAgent } from "../../mesh/index.js";

/** A running test mesh. */
export interface TestMesh {
  readonly home: string;
  readonly gateway: RunningGateway;
  readonly agents: RunningAgent[];
  /** gRPC address of the gateway. */
  readonly grpcAddress: string;
  /** Base URL of the gateway's Connect port. */
  readonly connectUrl: string;
  /** Environment for a process that should join this mesh. */
  readonly env: Record<string, string>;
  token(subject?: string, role?: Role, ttlSeconds?: number): Promise<string>;
  startAgent(name: string, intents: IntentDefinition<never, never>[], env?: Record<string, string>): Promise<RunningAgent>;
  stop(): Promise<void>;
}

const quiet = () => createLogger("test", "error");

/** Starts a gateway with no agents; add them with `startAgent`. */
export async function startTestMesh(extraEnv: Record<string, string> = {}): Promise<TestMesh> {
  const home = mkdtempSync(join(tmpdir(), "agentmesh-test-"));
  await ensureDevKeys(join(home, "keys"));
  const env = { AGENTMESH_HOME: home, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0", AGENTMESH_CONNECT_ADDRESS: "127.0.0.1:0", AGENTMESH_SHUTDOWN_GRACE_MS: "2000", ...extraEnv };
  const gateway = await startGateway(readGatewayConfig(env), { logger: quiet() });
  const grpcAddress = `127.0.0.1:${gateway.grpcPort}`;
  const agents: RunningAgent[] = [];
  const key = await loadSigningKey(join(home, "keys", "signing-key.jwk.json"));
  return {
    home,
    gateway,
    agents,
    grpcAddress,
    connectUrl: `http://127.0.0.1:${gateway.connectPort}`,
    env: { ...env, AGENTMESH_GATEWAY: grpcAddress },
    token: (subject = "alice", role = "supervisor", ttlSeconds = 600) => issueToken(key, { subject, role, ttlSeconds }),
    async startAgent(name, intents, agentEnv = {}) {
      const config = readMeshConfig({ ...env, AGENTMESH_GATEWAY: grpcAddress, AGENTMESH_INSTANCE_ID: `${name}-${agents.length}`, AGENTMESH_DATA_DIR: join(home, "data", `${name}-${agents.length}`), ...agentEnv }, { grpcAddress: "127.0.0.1:0", connectAddress: "127.0.0.1:0" });
      const agent = await startAgent({ name, description: `test agent ${name}`, version: "0", role: "worker", intents, tools: [], scopes: [], config, logger: quiet() });
      await agent.registered;
      agents.push(agent);
      return agent;
    },
    async stop() {
      await Promise.all(agents.map((a) => a.stop()));
      await gateway.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
