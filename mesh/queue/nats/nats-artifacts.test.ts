import { createHash } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startNatsServer } from "../../../test/support/nats-server.js";
import type { TestNatsServer } from "../../../test/support/nats-server.js";
import { ArtifactTooLargeError } from "../queue-errors.js";
import { openNatsArtifacts } from "./nats-artifacts.js";

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

describe("NATS artifact store", () => {
  let server: TestNatsServer;
  let nc: NatsConnection;

  beforeEach(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  afterEach(async () => {
    await nc.close();
    await server.stop();
  });

  it("stores an empty artifact with the digest of no bytes", async () => {
    const artifacts = await openNatsArtifacts(nc);
    const info = await artifacts.put(new Uint8Array(0), { mediaType: "application/json" });
    expect({ ...info, id: "", createdAt: 0 }).toEqual({ id: "", digest: sha(new Uint8Array(0)), size: 0, mediaType: "application/json", createdAt: 0 });
    expect(await artifacts.get(info.id)).toEqual({ info, data: new Uint8Array(0) });
  });

  it("keeps nothing of a stream refused for its size", async () => {
    const artifacts = await openNatsArtifacts(nc, { bucket: "sized" });
    const jsm = await jetstreamManager(nc);
    async function* big(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 1));
        yield new Uint8Array(200_000).fill(i);
      }
    }
    const refused = artifacts.put(big(), { mediaType: "application/octet-stream", maxBytes: 500_000 });
    await expect(refused).rejects.toThrow(ArtifactTooLargeError);
    await expect(refused).rejects.toThrow("artifact larger than 500000 bytes");
    expect((await jsm.streams.info("OBJ_sized")).state.messages).toBe(0);
  });

  it("deletes idempotently and keeps artifacts across a nats-server restart", async () => {
    const artifacts = await openNatsArtifacts(nc);
    const data = new TextEncoder().encode("kept over a restart");
    const info = await artifacts.put(data, { mediaType: "text/plain" });
    await server.restart();
    const again = await connect({ servers: server.url });
    try {
      const reopened = await openNatsArtifacts(again);
      expect(await reopened.get(info.id)).toEqual({ info, data });
      await reopened.delete(info.id);
      await reopened.delete(info.id);
      expect(await reopened.info(info.id)).toBeUndefined();
    } finally {
      await again.close();
    }
  });
});
