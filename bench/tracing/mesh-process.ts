/**
 * The mesh under load, in a process of its own: a real gateway and one worker
 * (`worker-a`, offering test.echo) on loopback, as `startTestMesh` starts
 * them, under the committed policy bundle with its call and spend quotas raised
 * out of reach (`unquotaedPolicy`): the default quota, 120 calls a minute per
 * caller, would refuse the load within a second. Gateway and worker share this one
 * process so that, on 2 cores, the mesh has one core and the load generator the
 * other.
 *
 * Run as a child of run.ts (`startMeshProcess`). Tracing is set by the OTEL_*
 * variables the parent gives it (telemetry-config.ts reads them); the parent
 * learns the gateway's address and a supervisor token over IPC and sends "stop"
 * to stop the mesh.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleFiles } from "../../mesh/index.js";
import { repoRoot } from "../../tools/index.js";
import { createExecutionLog, testIntents } from "../../test/support/test-intents.js";
import { startTestMesh } from "../../test/support/test-mesh.js";
import { forkReady } from "../suite/child-process.js";

/** What the child reports once the worker has registered. */
interface Ready {
  readonly grpcAddress: string;
  readonly token: string;
}

/** What the services' embedded span stores held once they had stopped (and so flushed). */
export interface SpanStoreSize {
  readonly spans: number;
  readonly bytes: number;
}

/** A running mesh process. */
export interface MeshProcess extends Ready {
  readonly pid: number;
  /**
   * Stops the mesh (SIGKILL after 10 s), waits for the process to exit and
   * returns what its span stores held (NaN when the child could not say): the
   * check that tracing was on or off as asked, and that no span was dropped.
   */
  stop(): Promise<SpanStoreSize>;
}

/**
 * Starts a mesh child with `env` added to this process's environment and
 * `execArgv` (e.g. `--cpu-prof`) added to its Node options; rejects if it exits
 * or stalls before it is ready.
 */
export async function startMeshProcess(env: Readonly<Record<string, string>>, execArgv: readonly string[] = []): Promise<MeshProcess> {
  const child = await forkReady<Ready>(import.meta.url, { args: ["--child"], env, execArgv });
  return {
    ...child.ready,
    pid: child.pid,
    stop: async () => ((await child.stop()) as SpanStoreSize | undefined) ?? { spans: Number.NaN, bytes: Number.NaN },
  };
}

/** Child: start the mesh, report, stop on "stop" or when the parent goes away. */
async function runChild(): Promise<void> {
  const policyDir = unquotaedPolicy();
  // The OTEL_* settings come from process.env; the test mesh passes only the variables it is given.
  const otel = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k.startsWith("OTEL_") && v !== undefined)) as Record<string, string>;
  const env = { ...otel, AGENTMESH_POLICY_DIR: policyDir };
  const mesh = await startTestMesh(env);
  await mesh.startAgent("worker-a", testIntents(createExecutionLog(), ["test.echo"]), env);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // mesh.stop() in two steps: the span stores are read after the services flushed them, before the home is removed.
    await Promise.all(mesh.agents.map((a) => a.stop()));
    await mesh.gateway.stop();
    if (process.connected) process.send?.(spanStoreSize(mesh.home) satisfies SpanStoreSize);
    rmSync(mesh.home, { recursive: true, force: true });
    rmSync(policyDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on("message", (msg) => {
    if (msg === "stop") void stop();
  });
  process.on("disconnect", () => void stop());
  process.send?.({ grpcAddress: mesh.grpcAddress, token: await mesh.token("alice", "supervisor", 3600) } satisfies Ready);
}

/**
 * A copy of the committed bundle (policy/build) in a temporary directory, the
 * same Wasm and data except the quotas, raised so that no call is refused for
 * them; the quota rules still run on every call. Returns its directory.
 */
function unquotaedPolicy(): string {
  const dir = mkdtempSync(join(tmpdir(), "agentmesh-bench-policy-"));
  const built = join(repoRoot, "policy", "build");
  const unlimited = { window_seconds: 60, max_calls: 1e12, max_spend_micros: 1e15 };
  const data = JSON.parse(readFileSync(join(built, bundleFiles.data), "utf8")) as { agentmesh: { config: { quotas: { default: unknown; by_intent: Record<string, unknown> } } } };
  const quotas = data.agentmesh.config.quotas;
  quotas.default = unlimited;
  for (const intent of Object.keys(quotas.by_intent)) quotas.by_intent[intent] = unlimited;
  const manifest = JSON.parse(readFileSync(join(built, bundleFiles.manifest), "utf8")) as { revision: string };
  copyFileSync(join(built, bundleFiles.wasm), join(dir, bundleFiles.wasm));
  writeFileSync(join(dir, bundleFiles.data), JSON.stringify(data));
  writeFileSync(join(dir, bundleFiles.manifest), JSON.stringify({ ...manifest, revision: `${manifest.revision}+bench-unquotaed` }));
  return dir;
}

/** Lines (spans) and bytes of the `*.spans.jsonl` files under `dir`. */
function spanStoreSize(dir: string): SpanStoreSize {
  let spans = 0;
  let bytes = 0;
  for (const f of readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".spans.jsonl"))) {
    const text = readFileSync(join(dir, f));
    bytes += text.length;
    for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) spans++;
  }
  return { spans, bytes };
}

if (process.argv.includes("--child")) await runChild();
