import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readMeshConfig } from "../config.js";
import { openQueueBackend, QueueUrlError } from "./backend.js";

describe("openQueueBackend", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([[undefined], [""], ["embedded"], [" embedded "]])("opens the embedded backend in dir when AGENTMESH_QUEUE is %j", async (url) => {
    dir = mkdtempSync(join(tmpdir(), "agentmesh-backend-"));
    const backend = await openQueueBackend({ url, dir });
    try {
      expect(backend.kind).toBe("embedded");
      expect(await backend.queue.enqueue({ id: "t1", subject: "work", data: new Uint8Array([1]) })).toEqual({ duplicate: false });
    } finally {
      await backend.close();
    }
    const again = await openQueueBackend({ url: "embedded", dir });
    try {
      expect(await again.queue.depth("work")).toBe(1);
    } finally {
      await again.close();
    }
  });

  it.each([["redis://localhost:6379"], ["nats"], ["Embedded"], ["file:///tmp/q"]])("refuses AGENTMESH_QUEUE=%j naming the accepted forms", async (url) => {
    const err = await openQueueBackend({ url, dir: "/nonexistent" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueUrlError);
    expect(err).toMatchObject({
      name: "QueueUrlError",
      nonRetryable: true,
      message: `AGENTMESH_QUEUE=${JSON.stringify(url)} names no queue backend: use "embedded" (or leave it unset) for the embedded backend, or nats://host:port for NATS JetStream`,
    });
  });

  it("is the same reading of AGENTMESH_QUEUE as the services' config: one refused there is refused with the same error", () => {
    expect(() => readMeshConfig({ AGENTMESH_QUEUE: "nats" }, { grpcAddress: "127.0.0.1:0", connectAddress: undefined })).toThrow(new QueueUrlError("nats"));
    expect(readMeshConfig({ AGENTMESH_QUEUE: " embedded " }, { grpcAddress: "127.0.0.1:0", connectAddress: undefined }).queue.url).toBeUndefined();
    expect(readMeshConfig({ AGENTMESH_QUEUE: "nats://127.0.0.1:4222" }, { grpcAddress: "127.0.0.1:0", connectAddress: undefined }).queue.url).toBe("nats://127.0.0.1:4222");
  });
});
