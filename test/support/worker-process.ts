/**
 * Test workers as separate processes (test/support/test-worker-main.ts), so
 * fault tests can kill them, restart them and send them signals.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { TestMesh } from "./test-mesh.js";

/** Options of {@link spawnTestWorker}. */
export interface TestWorkerOptions {
  /** Agent name (replicas share it). */
  readonly name: string;
  /** Replica id, also naming its data dir; default `<name>-1`. */
  readonly instanceId?: string;
  readonly intents: readonly string[];
  /** The execution log file. */
  readonly log: string;
  /** The directory `test.effect` applies its effect in, shared by replicas. */
  readonly effects?: string;
  /** More environment for the worker. */
  readonly env?: Record<string, string>;
}

/**
 * Starts a test worker process on `mesh` and resolves once the gateway routes
 * `intents[0]` to an address of `name` it did not route to before.
 */
export async function spawnTestWorker(mesh: TestMesh, o: TestWorkerOptions): Promise<ChildProcess> {
  const instanceId = o.instanceId ?? `${o.name}-1`;
  const addresses = () => mesh.gateway.table.list(o.intents[0]).filter((a) => a.card?.name === o.name).flatMap((a) => a.instances.flatMap((i) => i.endpoints.map((e) => e.address)));
  const before = new Set(addresses());
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/test-worker-main.ts"], {
    env: {
      ...process.env, ...mesh.env,
      AGENTMESH_TEST_AGENT: o.name, AGENTMESH_TEST_INTENTS: o.intents.join(","), AGENTMESH_TEST_LOG: o.log,
      ...(o.effects === undefined ? {} : { AGENTMESH_TEST_EFFECTS: o.effects }),
      AGENTMESH_DATA_DIR: join(mesh.home, "data", instanceId), AGENTMESH_INSTANCE_ID: instanceId, AGENTMESH_LOG_LEVEL: "error",
      ...o.env,
    },
    stdio: "inherit",
  });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code, signal) => reject(new Error(`worker ${instanceId} exited (${code ?? signal}) before it registered`))));
  exited.catch(() => undefined);
  await Promise.race([until(() => addresses().some((a) => !before.has(a)), 20_000), exited]);
  return child;
}

/** Resolves once `cond` holds; rejects after `timeoutMs`. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops `children` (SIGTERM, then SIGKILL after 5 s) and empties the list; those already gone are skipped. */
export async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.splice(0).map(async (c) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }));
}
