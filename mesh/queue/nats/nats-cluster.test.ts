/**
 * The NATS backend on a real 3-server JetStream cluster (the pinned nats-server,
 * three processes on 127.0.0.1): replicas are raised on streams and buckets that
 * exist with fewer, never lowered, and a count the cluster cannot place is refused.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import type { JetStreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { freePorts } from "../../../test/support/jaeger.js";
import { toolPath } from "../../../tools/tool-path.js";
import { openNatsBackend } from "./nats-backend.js";
import { QueueReplicasError } from "./nats-storage.js";
import { attemptStream, deadLetterStream, taskStream } from "./nats-streams.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const streams = [taskStream, deadLetterStream, attemptStream, "KV_agentmesh", "OBJ_agentmesh-artifacts"];

describe("NATS storage on a 3-server JetStream cluster", () => {
  let dir: string;
  const servers: ChildProcess[] = [];
  let url: string;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const replicasOf = async (name: string) => (await jsm.streams.info(name)).config.num_replicas;
  /** True once the stream has a leader and every other replica is caught up. */
  const settled = async (name: string) => {
    const { cluster } = await jsm.streams.info(name);
    return cluster?.leader !== undefined && (cluster.replicas ?? []).length === 2 && (cluster.replicas ?? []).every((peer) => peer.current);
  };

  beforeAll(async () => {
    const binary = await toolPath("nats-server", { progress: null });
    dir = await mkdtemp(join(tmpdir(), "agentmesh-nats-cluster-"));
    const ports = await freePorts(6);
    const clientPorts = ports.slice(0, 3);
    const routePorts = ports.slice(3);
    const routes = routePorts.map((p) => `"nats://127.0.0.1:${p}"`).join(", ");
    for (const [i, port] of clientPorts.entries()) {
      const conf = join(dir, `n${i}.conf`);
      await writeFile(conf, [
        `server_name: n${i}`,
        `listen: "127.0.0.1:${port}"`,
        `jetstream { store_dir: "${join(dir, `store-${i}`)}" }`,
        `cluster { name: agentmesh-test, listen: "127.0.0.1:${routePorts[i]}", routes: [${routes}] }`,
      ].join("\n"));
      const proc = spawn(binary, ["-c", conf], { stdio: "ignore" });
      process.once("exit", () => proc.kill("SIGKILL"));
      servers.push(proc);
    }
    url = clientPorts.map((p) => `nats://127.0.0.1:${p}`).join(",");
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        nc = await connect({ servers: url.split(","), maxReconnectAttempts: -1 });
        jsm = await jetstreamManager(nc);
        // JetStream answers once the cluster has elected its meta leader.
        const info = await jsm.getAccountInfo();
        if (info !== undefined) break;
      } catch (err) {
        await nc?.close().catch(() => undefined);
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }, 60_000);

  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await Promise.all(servers.map((proc) => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once("exit", () => resolve());
      proc.kill("SIGKILL");
    })));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("raises R1 streams and buckets to R3 on open, keeps their data, and never lowers them", async () => {
    const r1 = await openNatsBackend(url, { replicas: 1 });
    await r1.store.put("result/t-1", bytes("record"));
    await r1.queue.enqueue({ id: "t-1", subject: "echo", data: bytes("task") });
    const artifact = await r1.artifacts.put(bytes("artifact"), { mediaType: "text/plain" });
    await r1.close();
    for (const name of streams) expect(await replicasOf(name), name).toBe(1);

    const r3 = await openNatsBackend(url, { replicas: 3 });
    try {
      for (const name of streams) expect(await replicasOf(name), name).toBe(3);
      // The new replicas copy the data and the stream elects its leader again; writes may stall until then.
      for (const name of streams) await expect.poll(() => settled(name), { timeout: 20_000, interval: 200 }).toBe(true);
      await expect.poll(async () => (await r3.store.get("result/t-1"))?.value, { timeout: 15_000 }).toEqual(bytes("record"));
      expect((await r3.artifacts.get(artifact.id))?.data).toEqual(bytes("artifact"));
      expect((await r3.queue.enqueue({ id: "t-1", subject: "echo", data: bytes("task") })).duplicate).toBe(true);
    } finally {
      await r3.close();
    }

    // A process still configured for R1 (e.g. mid-rollout) leaves R3 as it is.
    await (await openNatsBackend(url, { replicas: 1 })).close();
    for (const name of streams) expect(await replicasOf(name), name).toBe(3);
  }, 60_000);

  it("refuses more replicas than the cluster has servers with an error naming AGENTMESH_QUEUE_REPLICAS", async () => {
    const err = await openNatsBackend(url, { replicas: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueReplicasError);
    expect((err as Error).message).toMatch(/^AGENTMESH_QUEUE_REPLICAS=5: the NATS server cannot keep 5 replicas of stream /);
    for (const name of streams) expect(await replicasOf(name), name).toBe(3);
  }, 60_000);
});
