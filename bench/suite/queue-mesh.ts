/**
 * The mesh of scenario 6 (queued delegation), one part per process so that the
 * CPU of each is read on its own (proc-cpu.ts):
 *
 *   gateway     the real gateway with the queue backend (startTestMesh, no agents)
 *   worker      one replica of `worker-a` offering test.echo: served to the gateway
 *               for synchronous Delegate, and pulling the same intent's queue
 *   nats        nats-server with JetStream (test/support/nats-server.ts), for the
 *               JetStream backend only; the embedded backend is files under the
 *               mesh home's queue/ directory, shared by gateway and worker
 *
 * Policy is the committed bundle with its call and spend quotas raised out of
 * reach (the quota rules still run on every call), as for scenario 3: the
 * default, 120 calls a minute per caller and intent, queued work included,
 * would refuse the load within a second. Tracing is the default (spans to each
 * service's embedded span store).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleFiles, createLogger, readMeshConfig, startAgent } from "../../mesh/index.js";
import { repoRoot } from "../../tools/index.js";
import type { TestNatsServer } from "../../test/support/nats-server.js";
import { createExecutionLog, testIntents } from "../../test/support/test-intents.js";
import type { startTestMesh as StartTestMesh } from "../../test/support/test-mesh.js";
import { ask, forkReady } from "./child-process.js";
import { answerParent } from "./queued-load.js";
import type { ReadyChild } from "./child-process.js";

/** A queue backend scenario 6 measures. */
export type QueueBackendName = "embedded" | "jetstream";

/** What the gateway child reports once it serves. */
interface GatewayReady {
  readonly grpcAddress: string;
  readonly token: string;
  /** Environment for a process that joins this mesh. */
  readonly env: Record<string, string>;
}

/** A running queue mesh. */
export interface QueueMesh {
  readonly backend: QueueBackendName;
  readonly grpcAddress: string;
  /** Bearer token of the delegator (alice, supervisor). */
  readonly token: string;
  /** Pids of its processes by name (gateway, worker, and nats for JetStream), for CPU accounting. */
  readonly pids: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

/** Starts the mesh of `backend` with `queueEnv` (AGENTMESH_QUEUE_* settings) added to every part's environment. */
export async function startQueueMesh(backend: QueueBackendName, queueEnv: Readonly<Record<string, string>>): Promise<QueueMesh> {
  let nats: TestNatsServer | undefined;
  const children: { gateway?: ReadyChild<unknown>; worker?: ReadyChild<unknown> } = {};
  // The worker first (it reads the gateway's home and policy), then the gateway, then nats-server.
  const stop = async () => {
    await children.worker?.stop();
    await children.gateway?.stop();
    await nats?.stop();
  };
  try {
    // nats-server and both children (loading their code) start at once; then the gateway serves, and the worker joins it.
    const [n, g, w] = await Promise.allSettled([
      backend === "jetstream" ? import("../../test/support/nats-server.js").then((m) => m.startNatsServer()) : Promise.resolve(undefined),
      forkReady(import.meta.url, { args: ["--queue-mesh-gateway"] }),
      forkReady(import.meta.url, { args: ["--queue-mesh-worker"] }),
    ]);
    if (n.status === "fulfilled") nats = n.value;
    if (g.status === "fulfilled") children.gateway = g.value;
    if (w.status === "fulfilled") children.worker = w.value;
    for (const r of [n, g, w]) if (r.status === "rejected") throw r.reason;
    const [gateway, worker] = [children.gateway!, children.worker!];
    const pids: Record<string, number> = { gateway: gateway.pid, worker: worker.pid };
    const settings: Record<string, string> = { ...queueEnv };
    if (nats !== undefined) {
      settings.AGENTMESH_QUEUE = nats.url;
      pids.nats = pidByArgument(`agentmesh-test-${nats.port}`);
    }
    const served = await ask<GatewayReady>(gateway.child, { serve: settings });
    await ask(worker.child, { join: served.env });
    return { backend, grpcAddress: served.grpcAddress, token: served.token, pids, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The pid of the one process whose command line has `arg` as an argument. */
function pidByArgument(arg: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(arg)) return Number(entry);
    } catch {
      // The process ended meanwhile.
    }
  }
  throw new Error(`no process runs with argument ${arg}`);
}

/**
 * A copy of the committed bundle (policy/build) in a temporary directory whose
 * data raises every call and spend quota out of reach. Returns its directory.
 */
function bundleWithoutQuotaLimits(): string {
  const dir = mkdtempSync(join(tmpdir(), "agentmesh-bench-queue-policy-"));
  const built = join(repoRoot, "policy", "build");
  const data = JSON.parse(readFileSync(join(built, bundleFiles.data), "utf8")) as { agentmesh: { config: { quotas: { default: unknown; by_intent: Record<string, unknown> } } } };
  const { quotas } = data.agentmesh.config;
  const outOfReach = { window_seconds: 60, max_calls: 1e12, max_spend_micros: 1e15 };
  quotas.default = outOfReach;
  quotas.by_intent = Object.fromEntries(Object.keys(quotas.by_intent).map((intent) => [intent, outOfReach]));
  writeFileSync(join(dir, bundleFiles.data), JSON.stringify(data));
  const manifest = JSON.parse(readFileSync(join(built, bundleFiles.manifest), "utf8")) as { revision: string };
  writeFileSync(join(dir, bundleFiles.manifest), JSON.stringify({ ...manifest, revision: `${manifest.revision}+bench-queue` }));
  copyFileSync(join(built, bundleFiles.wasm), join(dir, bundleFiles.wasm));
  return dir;
}

/** Calls `stop` once, on "stop" or when the parent goes away, then exits. */
function stopOnRequest(stop: () => Promise<void>): void {
  let stopping = false;
  const end = () => {
    if (stopping) return;
    stopping = true;
    stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on("message", (m) => {
    if (m === "stop") end();
  });
  process.on("disconnect", end);
}

/**
 * Runs `start` with what the parent sends under `key` (its one request after
 * this child said it had loaded), answering with its value; stops on "stop".
 */
function startOnRequest<T>(key: string, start: (settings: Record<string, string>) => Promise<{ value: T; stop: () => Promise<void> }>): void {
  let started: Promise<{ value: T; stop: () => Promise<void> }> | undefined;
  stopOnRequest(async () => (await started)?.stop());
  process.once("message", (msg) => {
    if (msg === "stop") return;
    started = start((msg as Record<string, Record<string, string>>)[key]!);
    answerParent(started.then((s) => s.value));
  });
  process.send?.("loaded");
}

/** Gateway child: a test mesh without agents, with `settings` (the queue backend and its settings) added to the mesh's environment. */
async function startGatewayChild(startTestMesh: typeof StartTestMesh, settings: Record<string, string>): Promise<{ value: GatewayReady; stop: () => Promise<void> }> {
  const policyDir = bundleWithoutQuotaLimits();
  const mesh = await startTestMesh({ ...settings, AGENTMESH_POLICY_DIR: policyDir });
  const stop = async () => {
    await mesh.stop();
    rmSync(policyDir, { recursive: true, force: true });
  };
  return { value: { grpcAddress: mesh.grpcAddress, token: await mesh.token("alice", "supervisor", 3600), env: mesh.env }, stop };
}

/** Worker child: `worker-a` with test.echo on the mesh whose environment is `env`, once the gateway accepted its registration. */
async function startWorkerChild(env: Record<string, string>): Promise<{ value: null; stop: () => Promise<void> }> {
  const agent = await startAgent({
    name: "worker-a", description: "bench worker", version: "0", role: "worker",
    intents: testIntents(createExecutionLog(), ["test.echo"]), tools: [], scopes: [],
    config: readMeshConfig({ ...env, AGENTMESH_INSTANCE_ID: "worker-a-0", AGENTMESH_DATA_DIR: join(env.AGENTMESH_HOME!, "data", "worker-a-0") }, { grpcAddress: "127.0.0.1:0", connectAddress: "off" }),
    logger: createLogger("bench-worker", "error"),
  });
  await agent.registered;
  return { value: null, stop: () => agent.stop() };
}

if (process.argv.includes("--queue-mesh-gateway")) {
  // The gateway's code is loaded by the gateway child only (before it says it has loaded), not by the worker or the suite.
  const { startTestMesh } = await import("../../test/support/test-mesh.js");
  startOnRequest("serve", (settings) => startGatewayChild(startTestMesh, settings));
}
if (process.argv.includes("--queue-mesh-worker")) startOnRequest("join", startWorkerChild);
