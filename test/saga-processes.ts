/**
 * A mesh for the saga tests made of real processes, each started from its own
 * entry point as `agentmesh up` starts it: the gateway (with the repo's offers
 * file and the committed policy bundle), the budgeter, the copywriter, the
 * publisher and the sagas service, on a temporary home with fresh keys and the
 * queue backend AGENTMESH_QUEUE names (embedded when unset). One process can be
 * killed and started again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import { SagaService } from "../gen/agentmesh/v1/saga_pb.js";
import type { Saga, StartSagaResponse } from "../gen/agentmesh/v1/saga_pb.js";
import { checkHealth } from "../cli/health-check.js";
import { agentOffersPath } from "../cli/mesh-processes.js";
import { startProcessGroup } from "../cli/process-group.js";
import type { ProcessGroup, ProcessSpec } from "../cli/process-group.js";
import { createGrpcClient, ensureDevKeys, issueToken, loadSigningKey } from "../mesh/index.js";
import type { GrpcClient, Role } from "../mesh/index.js";
import { openEffectLedger } from "../services/shared/effect-ledger.js";
import type { Effect } from "../services/shared/effect-ledger.js";

/** Entry points of the processes, by name. */
const entries = {
  gateway: "gateway/main.ts",
  budgeter: "services/budgeter/main.ts",
  copywriter: "services/copywriter/main.ts",
  publisher: "services/publisher/main.ts",
  sagas: "services/sagas/main.ts",
} as const;

/** A process name of the saga mesh. */
export type SagaProcess = keyof typeof entries;

/** A running saga mesh. */
export interface SagaMesh {
  readonly home: string;
  readonly gatewayAddress: string;
  readonly sagasAddress: string;
  /** Every log line of every process so far. */
  readonly lines: readonly string[];
  token(subject: string, role: Role): Promise<string>;
  /** A gRPC client, closed by `stop`. */
  client(address: string): GrpcClient;
  startSaga(sagaId: string, input: Record<string, unknown>): Promise<StartSagaResponse>;
  getSaga(sagaId: string): Promise<Saga>;
  /** Polls GetSaga every 100 ms until `ready` holds; throws with the last state after `ms`. */
  waitFor(sagaId: string, what: string, ready: (saga: Saga) => boolean, ms?: number): Promise<Saga>;
  /** SIGKILLs `name` and resolves once it exited. */
  kill(name: SagaProcess): Promise<void>;
  /** Starts `name` again (after `kill`) and waits until it serves again. */
  restart(name: SagaProcess): Promise<void>;
  /** The effects journal of an agent's ledger (`budget`, `drafts`, `calendar` under the data dir). */
  effects(ledger: "budget" | "drafts" | "calendar"): Promise<Effect[]>;
  stop(): Promise<void>;
}

/** Starts the saga mesh with `env` added to every process; resolves once every agent registered and the sagas service serves. */
export async function startSagaMesh(env: Readonly<Record<string, string>> = {}): Promise<SagaMesh> {
  const home = mkdtempSync(join(tmpdir(), "agentmesh-saga-"));
  const { signingKeyPath } = await ensureDevKeys(join(home, "keys"));
  const key = await loadSigningKey(signingKeyPath);
  const [gatewayPort, sagasPort] = [await freePort(), await freePort()];
  const gatewayAddress = `127.0.0.1:${gatewayPort}`;
  const sagasAddress = `127.0.0.1:${sagasPort}`;
  const common = {
    AGENTMESH_HOME: home, AGENTMESH_GATEWAY: gatewayAddress, AGENTMESH_QUEUE: process.env.AGENTMESH_QUEUE ?? "", AGENTMESH_SHUTDOWN_GRACE_MS: "1000",
    AGENTMESH_CONNECT_ADDRESS: "off", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none", ...env,
  };
  const specs: Record<SagaProcess, ProcessSpec> = {
    gateway: { name: "gateway", entry: entries.gateway, env: { ...common, AGENTMESH_GRPC_ADDRESS: gatewayAddress, AGENTMESH_AGENT_OFFERS: agentOffersPath, AGENTMESH_ARTIFACTS_ADDRESS: "127.0.0.1:0" } },
    budgeter: { name: "budgeter", entry: entries.budgeter, env: { ...common, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0" } },
    copywriter: { name: "copywriter", entry: entries.copywriter, env: { ...common, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0" } },
    publisher: { name: "publisher", entry: entries.publisher, env: { ...common, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0" } },
    sagas: { name: "sagas", entry: entries.sagas, env: { ...common, AGENTMESH_GRPC_ADDRESS: sagasAddress } },
  };
  const lines: string[] = [];
  const print = (line: string) => lines.push(line);
  const groups = new Map<SagaProcess, ProcessGroup>();
  const start = (name: SagaProcess) => groups.set(name, startProcessGroup([specs[name]], print));
  const child = (name: SagaProcess): ChildProcess => groups.get(name)!.children.get(name)!;
  const clients: GrpcClient[] = [];
  const client = (address: string) => {
    const c = createGrpcClient(address);
    clients.push(c);
    return c;
  };
  const token = (subject: string, role: Role) => issueToken(key, { subject, role, ttlSeconds: 600 });
  const operator = async () => ({ metadata: { authorization: `Bearer ${await token("operator", "supervisor")}` }, deadline: Date.now() + 10_000 });
  const sagas = client(sagasAddress);

  const stop = async () => {
    for (const c of clients) c.close();
    await Promise.all([...groups.values()].map((g) => g.stop(3_000)));
    rmSync(home, { recursive: true, force: true });
  };
  try {
    for (const name of Object.keys(entries) as SagaProcess[]) start(name);
    await until("every agent registered and the sagas service serving", async () => {
      const dead = [...groups.keys()].filter((n) => child(n).exitCode !== null);
      if (dead.length > 0) throw new Error(`${dead.join(", ")} exited during start-up:\n${lines.join("\n")}`);
      if (!(await checkHealth(gatewayAddress)) || !(await checkHealth(sagasAddress))) return false;
      const res = await client(gatewayAddress).unary(RegistryService.method.listAgents, {}, await operator()).catch(() => undefined);
      const live = new Set(res?.agents.filter((a) => a.instances.length > 0).map((a) => a.card!.name) ?? []);
      return ["budgeter", "copywriter", "publisher"].every((n) => live.has(n));
    }, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }

  const getSaga = async (sagaId: string): Promise<Saga> => (await sagas.unary(SagaService.method.getSaga, { sagaId }, await operator())).saga!;
  return {
    home, gatewayAddress, sagasAddress, lines, token, client, stop, getSaga,
    async startSaga(sagaId, input) {
      return sagas.unary(SagaService.method.startSaga, { sagaId, name: "campaign-launch", input: input as never }, await operator());
    },
    async waitFor(sagaId, what, ready, ms = 60_000) {
      let last: Saga | undefined;
      await until(`saga ${sagaId}: ${what}`, async () => {
        last = await getSaga(sagaId).catch(() => undefined);
        return last !== undefined && ready(last);
      }, ms, () => JSON.stringify(last?.trail.map((e) => `${e.event} ${e.step} ${e.detail}`)));
      return last!;
    },
    async kill(name) {
      const c = child(name);
      const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
      c.kill("SIGKILL");
      await exited;
    },
    async restart(name) {
      start(name);
      const address = name === "sagas" ? sagasAddress : name === "gateway" ? gatewayAddress : undefined;
      if (address !== undefined) await until(`${name} serving again`, () => checkHealth(address), 30_000);
    },
    effects: (ledger) => openEffectLedger(join(home, "data", ledger)).journal(),
  };
}

/** A free TCP port on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `ready()` does, checking every 100 ms; throws naming `what` (and `detail()`) after `ms`. */
async function until(what: string, ready: () => boolean | Promise<boolean>, ms: number, detail?: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail === undefined ? "" : `: ${detail()}`}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
