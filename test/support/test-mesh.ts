/**
 * An in-process mesh for integration tests: a real gateway and real agents on
 * loopback ports chosen by the OS, sharing a temporary home with fresh keys. The
 * gateway's offers file grants the test agents the test intents.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGatewayConfig, startGateway } from "../../gateway/index.js";
import type { RunningGateway } from "../../gateway/index.js";
import { createLogger, ensureDevKeys, issueToken, loadSigningKey, readMeshConfig, startAgent } from "../../mesh/index.js";
import type { IntentDefinition, MeshInterceptor, Role, RunningAgent } from "../../mesh/index.js";
import { createExecutionLog, testIntents } from "./test-intents.js";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";

/** Which agent may register which intents (the AGENTMESH_AGENT_OFFERS document's `agents`). */
export type AgentOffers = Record<string, readonly string[]>;

/** The agent names the test suites start; each may offer every test intent. */
export const testAgentNames = ["twin", "worker-a", "echoer", "sleeper", "keeper", "drainer"] as const;

/**
 * Intents a suite defines for itself on a default test mesh (task-lifecycle's
 * `test.stubborn`). A suite with intents of its own had better pass its own offers.
 */
const suiteIntents = ["test.stubborn"];

/** Offers granting every test intent to each of `testAgentNames`. */
export function testOffers(): AgentOffers {
  const intents = [...testIntents(createExecutionLog()).map((i) => i.name), ...suiteIntents];
  return Object.fromEntries(testAgentNames.map((name) => [name, intents]));
}

/** How long `startAgent` waits for the gateway to accept the agent's registration. */
const registrationTimeoutMs = 15_000;

/** Writes `offers` as an offers file in `dir` and returns its path. */
export function writeOffersFile(dir: string, offers: AgentOffers): string {
  const path = join(dir, "agent-offers.json");
  writeFileSync(path, JSON.stringify({ agents: offers }));
  return path;
}

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
  /** A token from the mesh's key; default alice, supervisor, 600 s, audience "agentmesh". */
  token(subject?: string, role?: Role, ttlSeconds?: number, audience?: string): Promise<string>;
  /**
   * Starts an agent on the mesh under the mesh's policy (the committed bundle
   * unless `env` points AGENTMESH_POLICY_DIR elsewhere), or under `policy` when
   * given (for tests of what comes before or after policy).
   */
  startAgent(name: string, intents: IntentDefinition<never, never>[], env?: Record<string, string>, policy?: MeshInterceptor): Promise<RunningAgent>;
  stop(): Promise<void>;
}

const quiet = () => createLogger("test", "error");

/**
 * Starts a gateway with no agents; add them with `startAgent`. `offers` (default
 * `testOffers()`) is the gateway's offers file; null starts it with none. The
 * gateway runs the committed policy bundle (policy/build), as every service does
 * by default, unless `extraEnv` sets AGENTMESH_POLICY_DIR; `gatewayPolicy`
 * replaces its policy step (for tests of what comes before or after policy).
 * `spanExporter` receives every service's spans as they end, instead of each
 * service's embedded span store.
 */
export async function startTestMesh(extraEnv: Record<string, string> = {}, offers: AgentOffers | null = testOffers(), gatewayPolicy?: MeshInterceptor, spanExporter?: SpanExporter): Promise<TestMesh> {
  const home = mkdtempSync(join(tmpdir(), "agentmesh-test-"));
  await ensureDevKeys(join(home, "keys"));
  const env: Record<string, string> = { AGENTMESH_HOME: home, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0", AGENTMESH_CONNECT_ADDRESS: "127.0.0.1:0", AGENTMESH_ARTIFACTS_ADDRESS: "127.0.0.1:0", AGENTMESH_SHUTDOWN_GRACE_MS: "2000" };
  if (offers !== null) env.AGENTMESH_AGENT_OFFERS = writeOffersFile(home, offers);
  Object.assign(env, extraEnv);
  const spans = spanExporter === undefined ? {} : { spanExporter };
  const gateway = await startGateway(readGatewayConfig(env), { logger: quiet(), ...spans, ...(gatewayPolicy === undefined ? {} : { policy: gatewayPolicy }) });
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
    token: (subject = "alice", role = "supervisor", ttlSeconds = 600, audience?: string) => issueToken(key, { subject, role, ttlSeconds, audience }),
    async startAgent(name, intents, agentEnv = {}, policy) {
      const config = readMeshConfig({ ...env, AGENTMESH_GATEWAY: grpcAddress, AGENTMESH_INSTANCE_ID: `${name}-${agents.length}`, AGENTMESH_DATA_DIR: join(home, "data", `${name}-${agents.length}`), ...agentEnv }, { grpcAddress: "127.0.0.1:0", connectAddress: "127.0.0.1:0" });
      const agent = await startAgent({ name, description: `test agent ${name}`, version: "0", role: "worker", intents, tools: [], scopes: [], config, logger: quiet(), ...spans, ...(policy === undefined ? {} : { policy }) });
      agents.push(agent);
      let timer: NodeJS.Timeout | undefined;
      const refused = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} did not register in ${registrationTimeoutMs} ms: do the test mesh's offers grant it ${intents.map((i) => i.name).join(", ")}?`)), registrationTimeoutMs);
      });
      try {
        await Promise.race([agent.registered, refused]);
      } finally {
        clearTimeout(timer);
      }
      return agent;
    },
    async stop() {
      await Promise.all(agents.map((a) => a.stop()));
      await gateway.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
