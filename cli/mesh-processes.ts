/**
 * `agentmesh up`: the gateway and every agent as separate processes on loopback,
 * started, waited for (gateway health, then every agent registered), and stopped
 * together. With `jaeger`, a local Jaeger (cli/jaeger.ts) starts first and every
 * service exports its spans to it over OTLP; it stops last, after the services
 * flushed their spans on SIGTERM.
 */
import { join, resolve } from "node:path";
import { RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import { createGrpcClient, ensureDevKeys } from "../mesh/index.js";
import { checkHealth } from "./health-check.js";
import { sagasAddressFor } from "./saga-commands.js";
import { repoRoot, startProcessGroup } from "./process-group.js";
import type { ProcessGroup, ProcessSpec } from "./process-group.js";
import { cliToken } from "./cli-identity.js";
import { defaultJaegerPorts, otlpEnvFor, startJaeger } from "./jaeger.js";
import type { JaegerPorts, RunningJaeger } from "./jaeger.js";
import { toolPath } from "../tools/index.js";

/** The agents `up` runs, by name, with their entry points. */
export const agentEntries: Readonly<Record<string, string>> = {
  supervisor: "services/supervisor/main.ts",
  summarizer: "services/summarizer/main.ts",
  copywriter: "services/copywriter/main.ts",
  segmenter: "services/segmenter/main.ts",
  publisher: "services/publisher/main.ts",
  budgeter: "services/budgeter/main.ts",
};

/** Services `up` runs that are not agents (they register no intents), with their entry points. */
export const serviceEntries: Readonly<Record<string, string>> = {
  sagas: "services/sagas/main.ts",
};

/** Which agent may register which intents: the gateway's AGENTMESH_AGENT_OFFERS for `up`. */
export const agentOffersPath = join(repoRoot, "config", "agent-offers.json");

/** Options of `startMeshProcesses`. */
export interface MeshProcessOptions {
  readonly gatewayPort: number;
  readonly connectPort: number;
  /** Local state folder shared by the processes (keys, journals, outbox). */
  readonly home: string;
  readonly print: (line: string) => void;
  readonly tty?: boolean;
  /** How long to wait for everything to be ready; default 60 s. */
  readonly readyTimeoutMs?: number;
  /** Start a local Jaeger on these ports (true: Jaeger's defaults, 4317 and 16686) and export every service's spans to it. */
  readonly jaeger?: boolean | JaegerPorts;
  /** More environment for every service (tests: OTEL_* pointing at their own collector). */
  readonly env?: Readonly<Record<string, string>>;
}

/** A running mesh. */
export interface MeshProcesses {
  readonly gatewayAddress: string;
  /** gRPC address of the sagas service. */
  readonly sagasAddress: string;
  readonly group: ProcessGroup;
  /** The local Jaeger, when asked for. */
  readonly jaeger?: RunningJaeger;
  stop(): Promise<void>;
}

/** Starts the mesh and resolves once every agent is registered with the gateway. */
export async function startMeshProcesses(o: MeshProcessOptions): Promise<MeshProcesses> {
  const home = resolve(o.home);
  await ensureDevKeys(join(home, "keys"));
  const gatewayAddress = `127.0.0.1:${o.gatewayPort}`;
  // Where `agentmesh sagas` looks for it: the gateway's port + 22 (7092 with the default 7070).
  const sagasAddress = sagasAddressFor(gatewayAddress);
  const jaeger = o.jaeger === undefined || o.jaeger === false ? undefined : await startJaeger({
    binary: await toolPath("jaeger"),
    dir: join(home, "jaeger"),
    ports: o.jaeger === true ? defaultJaegerPorts : o.jaeger,
    print: (line) => o.print(`jaeger │ ${line}`),
  });
  const common = { AGENTMESH_HOME: home, AGENTMESH_GATEWAY: gatewayAddress, ...(jaeger === undefined ? {} : otlpEnvFor(jaeger)), ...o.env };
  const specs: ProcessSpec[] = [
    {
      name: "gateway", entry: "gateway/main.ts",
      env: { ...common, AGENTMESH_GRPC_ADDRESS: gatewayAddress, AGENTMESH_CONNECT_ADDRESS: `127.0.0.1:${o.connectPort}`, AGENTMESH_AGENT_OFFERS: agentOffersPath },
    },
    ...Object.entries(agentEntries).map(([name, entry]) => ({
      name, entry,
      env: { ...common, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0", AGENTMESH_CONNECT_ADDRESS: "127.0.0.1:0", AGENTMESH_INSTANCE_ID: `${name}-1` },
    })),
    ...Object.entries(serviceEntries).map(([name, entry]) => ({
      name, entry,
      env: { ...common, AGENTMESH_GRPC_ADDRESS: sagasAddress, AGENTMESH_CONNECT_ADDRESS: "127.0.0.1:0", AGENTMESH_INSTANCE_ID: `${name}-1` },
    })),
  ];
  const group = startProcessGroup(specs, o.print, o.tty ?? false);
  const stop = async (graceMs?: number) => {
    await group.stop(graceMs);
    await jaeger?.stop();
  };
  try {
    await waitReady(gatewayAddress, sagasAddress, home, o.readyTimeoutMs ?? 60_000, group);
  } catch (err) {
    await stop(2_000);
    throw err;
  }
  return { gatewayAddress, sagasAddress, group, ...(jaeger === undefined ? {} : { jaeger }), stop: () => stop() };
}

async function waitReady(gatewayAddress: string, sagasAddress: string, home: string, timeoutMs: number, group: ProcessGroup): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const dead = () => [...group.children].filter(([, c]) => c.exitCode !== null || c.signalCode !== null).map(([n]) => n);
  while (!(await checkHealth(gatewayAddress))) {
    if (dead().length > 0) throw new Error(`${dead().join(", ")} exited during start-up (see the log above)`);
    if (Date.now() > deadline) throw new Error(`the gateway did not become healthy on ${gatewayAddress}`);
    await sleep(200);
  }
  const client = createGrpcClient(gatewayAddress);
  try {
    const token = await cliToken(home);
    for (;;) {
      const res = await client.unary(RegistryService.method.listAgents, {}, { metadata: { authorization: `Bearer ${token}` }, deadline: Date.now() + 2_000 });
      const live = new Set(res.agents.filter((a) => a.instances.length > 0).map((a) => a.card!.name));
      const missing = Object.keys(agentEntries).filter((n) => !live.has(n));
      if (missing.length === 0 && (await checkHealth(sagasAddress))) return;
      if (missing.length === 0) missing.push("sagas (not healthy)");
      if (dead().length > 0) throw new Error(`${dead().join(", ")} exited during start-up (see the log above)`);
      if (Date.now() > deadline) throw new Error(`not registered with the gateway in time: ${missing.join(", ")}`);
      await sleep(200);
    }
  } finally {
    client.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
