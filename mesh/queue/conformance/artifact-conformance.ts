/** Conformance: the artifact store (digest, size, streams, maxBytes, delete, durability). */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ConformanceContext } from "./conformance-support.js";
import { bytes, fast, sleep, str } from "./conformance-support.js";

/** Declares the artifacts cases of the conformance suite. */
export function describeArtifactConformance(ctx: ConformanceContext): void {
  const { run, open, openTracked } = ctx;

  describe("artifacts", () => {
    const sha = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

    it("stores bytes by id with digest, size and media type", async () => {
      const { artifacts } = await openTracked();
      const data = bytes("artifact body");
      const before = Date.now();
      const info = await artifacts.put(data, { mediaType: "text/plain" });
      expect(info.id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect({ ...info, id: "", createdAt: 0 }).toEqual({ id: "", digest: sha(data), size: data.length, mediaType: "text/plain", createdAt: 0 });
      expect(info.createdAt).toBeGreaterThanOrEqual(before);
      expect(info.createdAt).toBeLessThanOrEqual(Date.now());
      expect(await artifacts.info(info.id)).toEqual(info);
      const got = await artifacts.get(info.id);
      expect(got?.info).toEqual(info);
      expect(str(got?.data)).toBe("artifact body");
      const other = await artifacts.put(data, { mediaType: "text/plain" });
      expect(other.id).not.toBe(info.id);
    });

    it("stores a stream of chunks", async () => {
      const { artifacts } = await openTracked();
      const chunks = [bytes("a".repeat(70_000)), bytes("b".repeat(70_000)), bytes("c")];
      async function* stream(): AsyncIterable<Uint8Array> {
        for (const c of chunks) {
          await sleep(1);
          yield c;
        }
      }
      const all = Buffer.concat(chunks);
      const info = await artifacts.put(stream(), { mediaType: "application/octet-stream", maxBytes: all.length });
      expect([info.size, info.digest]).toEqual([all.length, sha(all)]);
      const got = await artifacts.get(info.id);
      expect(Buffer.from(got?.data ?? new Uint8Array()).equals(all)).toBe(true);
    });

    it.each([
      ["bytes", false],
      ["a stream", true],
    ])("refuses %s over maxBytes with a non-retryable error", async (_label, streamed) => {
      const { artifacts } = await openTracked();
      const data = bytes("x".repeat(101));
      async function* stream(): AsyncIterable<Uint8Array> {
        yield data.subarray(0, 60);
        await sleep(1);
        yield data.subarray(60);
      }
      await expect(artifacts.put(streamed ? stream() : data, { mediaType: "text/plain", maxBytes: 100 })).rejects.toMatchObject({
        name: "ArtifactTooLargeError",
        nonRetryable: true,
      });
      const ok = await artifacts.put(data.subarray(0, 100), { mediaType: "text/plain", maxBytes: 100 });
      expect(ok.size).toBe(100);
    });

    it("answers undefined for unknown and deleted artifacts", async () => {
      const { artifacts } = await openTracked();
      expect(await artifacts.info(`nope${run}`)).toBeUndefined();
      expect(await artifacts.get(`nope${run}`)).toBeUndefined();
      const info = await artifacts.put(bytes("bye"), { mediaType: "text/plain" });
      await artifacts.delete(info.id);
      expect(await artifacts.info(info.id)).toBeUndefined();
      expect(await artifacts.get(info.id)).toBeUndefined();
    });

    it("keeps artifacts across close and reopen", async () => {
      const b1 = await open(fast);
      const info = await b1.artifacts.put(bytes("kept"), { mediaType: "text/plain" });
      await b1.close();
      const b2 = await openTracked();
      const got = await b2.artifacts.get(info.id);
      expect(got?.info).toEqual(info);
      expect(str(got?.data)).toBe("kept");
    });
  });
}
