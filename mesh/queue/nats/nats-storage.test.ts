import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import type { JetStreamManager, StreamConfig } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { startNatsServer } from "../../../test/support/nats-server.js";
import type { TestNatsServer } from "../../../test/support/nats-server.js";
import { readMeshConfig } from "../../config.js";
import { openQueueBackend } from "../backend.js";
import type { QueueBackend } from "../queue-types.js";
import { openNatsBackend } from "./nats-backend.js";
import { QueueReplicasError, QueueStoreFullError, resolveNatsStorage } from "./nats-storage.js";
import { attemptStream, deadLetterStream, taskStream } from "./nats-streams.js";

const day = 86_400_000;
const bytes = (s: string) => new TextEncoder().encode(s);
const defaults = { grpcAddress: "127.0.0.1:0", connectAddress: undefined };

describe("resolveNatsStorage", () => {
  it("defaults to R1, 7 days for records, attempts, dead letters and artifacts, no byte limits", () => {
    expect(resolveNatsStorage()).toEqual({ replicas: 1, retentionMs: 7 * day, deadLetterRetentionMs: 7 * day, artifactTtlMs: 7 * day, kvMaxBytes: -1, deadLetterMaxBytes: -1, artifactMaxBytes: -1 });
    expect(resolveNatsStorage({ retentionMs: 3 * day }).deadLetterRetentionMs).toBe(3 * day);
  });

  it.each([[{ replicas: 0 }], [{ replicas: 6 }], [{ replicas: 1.5 }], [{ retentionMs: -1 }], [{ deadLetterRetentionMs: 60_000 }], [{ kvMaxBytes: 0 }], [{ artifactMaxBytes: -2 }]])("refuses %j", (settings) => {
    expect(() => resolveNatsStorage(settings)).toThrow(RangeError);
  });
});

describe("readMeshConfig: queue storage", () => {
  it("defaults to R1 and 7-day retention, no byte limits", () => {
    expect(readMeshConfig({}, defaults).queue.settings).toMatchObject({ replicas: 1, retentionMs: 7 * day, deadLetterRetentionMs: 7 * day, artifactTtlMs: 7 * day, kvMaxBytes: -1, deadLetterMaxBytes: -1, artifactMaxBytes: -1 });
  });

  it("reads AGENTMESH_QUEUE_REPLICAS, the retention and byte limits", () => {
    const env = {
      AGENTMESH_QUEUE_REPLICAS: "3", AGENTMESH_QUEUE_RETENTION_S: "172800", AGENTMESH_QUEUE_DLQ_RETENTION_S: "86400", AGENTMESH_ARTIFACT_TTL_S: "90000",
      AGENTMESH_QUEUE_KV_MAX_BYTES: "1000000", AGENTMESH_QUEUE_DLQ_MAX_BYTES: "2000000", AGENTMESH_ARTIFACT_STORE_MAX_BYTES: "0",
    };
    expect(readMeshConfig(env, defaults).queue.settings).toMatchObject({
      replicas: 3, retentionMs: 172_800_000, deadLetterRetentionMs: 86_400_000, artifactTtlMs: 90_000_000, kvMaxBytes: 1_000_000, deadLetterMaxBytes: 2_000_000, artifactMaxBytes: -1,
    });
    expect(readMeshConfig({ AGENTMESH_QUEUE_RETENTION_S: "0", AGENTMESH_QUEUE_DLQ_RETENTION_S: "0", AGENTMESH_ARTIFACT_TTL_S: "0" }, defaults).queue.settings)
      .toMatchObject({ retentionMs: 0, deadLetterRetentionMs: 0, artifactTtlMs: 0 });
  });

  it.each([
    [{ AGENTMESH_QUEUE_REPLICAS: "0" }, /AGENTMESH_QUEUE_REPLICAS must be from 1 to 5/],
    [{ AGENTMESH_QUEUE_REPLICAS: "7" }, /AGENTMESH_QUEUE_REPLICAS must be from 1 to 5/],
    [{ AGENTMESH_QUEUE_REPLICAS: "three" }, /AGENTMESH_QUEUE_REPLICAS must be a non-negative integer/],
    [{ AGENTMESH_QUEUE_RETENTION_S: "3600" }, /AGENTMESH_QUEUE_RETENTION_S \(3600\) must be 0 or at least AGENTMESH_QUEUE_TOKEN_TTL_S \(86400\)/],
    [{ AGENTMESH_QUEUE_DLQ_RETENTION_S: "1209600" }, /AGENTMESH_QUEUE_DLQ_RETENTION_S \(1209600\) must be at most AGENTMESH_QUEUE_RETENTION_S \(604800\)/],
    [{ AGENTMESH_QUEUE_DLQ_RETENTION_S: "60" }, /at least 120/],
    [{ AGENTMESH_ARTIFACT_TTL_S: "3600", AGENTMESH_QUEUE_TOKEN_TTL_S: "3600", AGENTMESH_ARTIFACT_LINK_TTL_S: "7200" }, /AGENTMESH_ARTIFACT_TTL_S \(3600\) must be 0 or at least AGENTMESH_ARTIFACT_LINK_TTL_S \(7200\)/],
    [{ AGENTMESH_ARTIFACT_TTL_S: "3600" }, /AGENTMESH_QUEUE_TOKEN_TTL_S \(86400\)/],
  ])("refuses %j", (env, message) => {
    expect(() => readMeshConfig(env, defaults)).toThrow(message);
  });
});

describe("NATS storage on a single nats-server", () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams = [taskStream, deadLetterStream, attemptStream, "KV_agentmesh", "OBJ_agentmesh-artifacts"];
  const configOf = async (name: string): Promise<StreamConfig> => (await jsm.streams.info(name)).config;
  const deleteAll = async () => {
    for (const name of streams) await jsm.streams.delete(name).catch(() => undefined);
  };

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("creates every stream, the KV bucket and the object store with the replicas and limits asked for (replicas 1 accepted)", async () => {
    await deleteAll();
    const backend = await openQueueBackend({ url: server.url, dir: "/nonexistent", settings: readMeshConfig({ AGENTMESH_QUEUE_REPLICAS: "1" }, defaults).queue.settings });
    await backend.close();
    const week = nanos(7 * day);
    const expected: Record<string, Partial<StreamConfig>> = {
      [taskStream]: { num_replicas: 1, max_age: 0, max_bytes: -1 },
      [deadLetterStream]: { num_replicas: 1, max_age: week, max_bytes: -1 },
      [attemptStream]: { num_replicas: 1, max_age: week, max_bytes: -1 },
      KV_agentmesh: { num_replicas: 1, max_age: week, max_bytes: -1 },
      "OBJ_agentmesh-artifacts": { num_replicas: 1, max_age: week, max_bytes: -1 },
    };
    for (const name of streams) expect(await configOf(name), name).toMatchObject(expected[name]!);
  });

  it("refuses replicas 3 on a single server with an error naming AGENTMESH_QUEUE_REPLICAS, whether the streams exist or not", async () => {
    await deleteAll();
    const fresh = await openNatsBackend(server.url, { replicas: 3 }).catch((err: unknown) => err);
    expect(fresh).toBeInstanceOf(QueueReplicasError);
    expect((fresh as Error).message).toMatch(/^AGENTMESH_QUEUE_REPLICAS=3: the NATS server cannot keep 3 replicas of stream \S+ \(JetStream: replicas > 1 not supported in non-clustered mode\)/);
    expect((fresh as QueueReplicasError).nonRetryable).toBe(true);

    // Existing R1 streams: raising them is refused the same way, and they stay as they were.
    await (await openNatsBackend(server.url)).close();
    const existing = await openNatsBackend(server.url, { replicas: 3 }).catch((err: unknown) => err);
    expect(existing).toBeInstanceOf(QueueReplicasError);
    expect((existing as Error).message).toContain("AGENTMESH_QUEUE_REPLICAS=3");
    for (const name of streams) expect((await configOf(name)).num_replicas, name).toBe(1);
  });

  it("brings streams and buckets made without limits to the configured limits, keeping their data and the rest of their configuration", async () => {
    await deleteAll();
    // As an older version left them: no age or byte limits.
    const old = await openNatsBackend(server.url, { retentionMs: 0, artifactTtlMs: 0 });
    await old.store.put("result/t-1", bytes("kept"));
    await old.queue.enqueue({ id: "t-1", subject: "echo", data: bytes("task") });
    const artifact = await old.artifacts.put(bytes("artifact"), { mediaType: "text/plain" });
    await old.close();
    for (const name of streams) expect((await configOf(name)).max_age, name).toBe(0);
    const before = await configOf(deadLetterStream);

    const settings = { retentionMs: 2 * day, artifactTtlMs: 3 * day, deadLetterMaxBytes: 1 << 20, artifactMaxBytes: 8 << 20, kvMaxBytes: 4 << 20 };
    const backend = await openNatsBackend(server.url, settings);
    try {
      expect(await configOf(taskStream)).toMatchObject({ max_age: 0, max_bytes: -1 });
      const { subjects, retention, storage, discard, duplicate_window, max_msgs_per_subject, num_replicas } = before;
      expect(await configOf(deadLetterStream)).toMatchObject({ subjects, retention, storage, discard, duplicate_window, max_msgs_per_subject, num_replicas, max_age: nanos(2 * day), max_bytes: 1 << 20 });
      expect(await configOf(attemptStream)).toMatchObject({ max_age: nanos(2 * day), max_bytes: -1 });
      expect(await configOf("KV_agentmesh")).toMatchObject({ max_age: nanos(2 * day), max_bytes: 4 << 20 });
      expect(await configOf("OBJ_agentmesh-artifacts")).toMatchObject({ max_age: nanos(3 * day), max_bytes: 8 << 20 });
      expect(new TextDecoder().decode((await backend.store.get("result/t-1"))?.value)).toBe("kept");
      expect((await backend.artifacts.get(artifact.id))?.data).toEqual(bytes("artifact"));
      expect((await backend.queue.enqueue({ id: "t-1", subject: "echo", data: bytes("task") })).duplicate).toBe(true);
    } finally {
      await backend.close();
    }
    // Opening again with the same settings changes nothing.
    const again = await openNatsBackend(server.url, settings);
    await again.close();
    expect((await configOf("KV_agentmesh")).max_age).toBe(nanos(2 * day));
  });

  it("raises a set age or byte limit but never lowers or removes it, so differently configured processes settle on the largest", async () => {
    await deleteAll();
    await (await openNatsBackend(server.url, { retentionMs: 2 * day, kvMaxBytes: 4 << 20 })).close();
    // Lower, or none at all: kept as set.
    await (await openNatsBackend(server.url, { retentionMs: 1 * day, kvMaxBytes: 1 << 20 })).close();
    expect(await configOf("KV_agentmesh")).toMatchObject({ max_age: nanos(2 * day), max_bytes: 4 << 20 });
    await (await openNatsBackend(server.url, { retentionMs: 0, deadLetterRetentionMs: 0, kvMaxBytes: -1 })).close();
    expect(await configOf("KV_agentmesh")).toMatchObject({ max_age: nanos(2 * day), max_bytes: 4 << 20 });
    expect(await configOf(attemptStream)).toMatchObject({ max_age: nanos(2 * day) });
    // Higher: raised.
    await (await openNatsBackend(server.url, { retentionMs: 3 * day, kvMaxBytes: 8 << 20 })).close();
    expect(await configOf("KV_agentmesh")).toMatchObject({ max_age: nanos(3 * day), max_bytes: 8 << 20 });
    expect(await configOf(attemptStream)).toMatchObject({ max_age: nanos(3 * day) });
    expect(await configOf(deadLetterStream)).toMatchObject({ max_age: nanos(3 * day) });
  });

  it("sets an age shorter than the duplicate window on a stream made without one", async () => {
    await deleteAll();
    await (await openNatsBackend(server.url, { retentionMs: 0, artifactTtlMs: 0 })).close();
    await (await openNatsBackend(server.url, { retentionMs: 30_000, artifactTtlMs: 30_000 })).close();
    for (const name of [attemptStream, "KV_agentmesh", "OBJ_agentmesh-artifacts"]) expect(await configOf(name), name).toMatchObject({ max_age: nanos(30_000), duplicate_window: nanos(30_000) });
  });

  it("refuses KV writes past the bucket's byte limit with an error naming AGENTMESH_QUEUE_KV_MAX_BYTES", async () => {
    await deleteAll();
    const backend = await openNatsBackend(server.url, { kvMaxBytes: 4096 });
    try {
      await backend.store.put("result/small", bytes("fits"));
      await expect(backend.store.put("result/large", new Uint8Array(8192))).rejects.toThrow(/^the KV bucket agentmesh is full: AGENTMESH_QUEUE_KV_MAX_BYTES=4096 bytes reached/);
      await expect(backend.store.create("result/large", new Uint8Array(8192))).rejects.toBeInstanceOf(QueueStoreFullError);
      expect(await backend.store.get("result/small")).toBeDefined();
    } finally {
      await backend.close();
    }
  });

  it("drops KV records and artifacts once their age has passed, and refuses an upload past the artifact store's limit while tasks still queue", async () => {
    await deleteAll();
    const backend: QueueBackend = await openNatsBackend(server.url, { retentionMs: 1_000, artifactTtlMs: 1_000, artifactMaxBytes: 64 * 1024 });
    try {
      await backend.store.put("result/t-old", bytes("old"));
      const artifact = await backend.artifacts.put(bytes("soon gone"), { mediaType: "text/plain" });
      expect(await backend.store.get("result/t-old")).toBeDefined();
      await expect.poll(async () => backend.store.get("result/t-old"), { timeout: 10_000, interval: 250 }).toBeUndefined();
      await expect.poll(async () => backend.artifacts.info(artifact.id), { timeout: 10_000, interval: 250 }).toBeUndefined();
      // A new write is kept again.
      await backend.store.put("result/t-new", bytes("new"));
      expect(await backend.store.get("result/t-new")).toBeDefined();

      const refused = await backend.artifacts.put(new Uint8Array(100 * 1024), { mediaType: "application/octet-stream" }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(QueueStoreFullError);
      expect((refused as Error).message).toBe("the artifact store is full: AGENTMESH_ARTIFACT_STORE_MAX_BYTES=65536 bytes reached, writes are refused until older entries expire or are deleted (or the limit is raised)");
      expect((await backend.queue.enqueue({ id: "t-2", subject: "echo", data: bytes("task") })).duplicate).toBe(false);
    } finally {
      await backend.close();
    }
  });
});
