/**
 * The embedded `ArtifactStore`, under `<dir>/artifacts`: `<id>.bin` holds the
 * bytes, `<id>.json` the `ArtifactInfo`. The info is written last, so an artifact
 * exists only once its bytes are durable; ids are 128 random bits, base64url.
 * Partial uploads of a process that died are removed when the store is next opened.
 */
import { createHash, randomBytes } from "node:crypto";
import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { ArtifactDigestError, ArtifactTooLargeError } from "../queue-errors.js";
import type { ArtifactInfo, ArtifactStore } from "../queue-types.js";
import { ensureDirs, fsyncDir, isNotFound, randomToken, readJsonFile, removeStaleTempFiles, unlinkIfExists, writeFileAtomic } from "./fs-files.js";

/** Options of `createEmbeddedArtifacts`. */
export interface EmbeddedArtifactsOptions {
  /** The backend directory; artifacts live in `<dir>/artifacts`. */
  readonly dir: string;
}

/**
 * Opens the embedded artifact store, creating its directory when missing.
 *
 * @throws the filesystem's error when the directory cannot be created
 */
export async function createEmbeddedArtifacts(options: EmbeddedArtifactsOptions): Promise<ArtifactStore> {
  const root = join(options.dir, "artifacts");
  await ensureDirs(root);
  // Uploads cut short by a process that died; an hour is longer than any live upload.
  await removeStaleTempFiles(root, 60 * 60_000);
  return new EmbeddedArtifacts(root);
}

const idPattern = /^[A-Za-z0-9_-]+$/;

class EmbeddedArtifacts implements ArtifactStore {
  constructor(private readonly root: string) {}

  async put(data: Uint8Array | AsyncIterable<Uint8Array>, options: { mediaType: string; maxBytes?: number }): Promise<ArtifactInfo> {
    const { maxBytes } = options;
    if (data instanceof Uint8Array && maxBytes !== undefined && data.length > maxBytes) throw new ArtifactTooLargeError(maxBytes);
    const id = randomBytes(16).toString("base64url");
    const temp = join(this.root, `.tmp-${id}-${randomToken()}`);
    const hash = createHash("sha256");
    let size = 0;
    const handle = await open(temp, "wx");
    try {
      const chunks = data instanceof Uint8Array ? [data] : data;
      for await (const chunk of chunks) {
        size += chunk.length;
        if (maxBytes !== undefined && size > maxBytes) throw new ArtifactTooLargeError(maxBytes);
        hash.update(chunk);
        await handle.write(chunk);
      }
      await handle.sync();
    } catch (err) {
      await handle.close();
      await unlinkIfExists(temp);
      throw err;
    }
    await handle.close();
    await rename(temp, this.binPath(id));
    const info: ArtifactInfo = { id, digest: `sha256:${hash.digest("hex")}`, size, mediaType: options.mediaType, createdAt: Date.now() };
    await writeFileAtomic(this.infoPath(id), JSON.stringify(info));
    await fsyncDir(this.root);
    return info;
  }

  async info(id: string): Promise<ArtifactInfo | undefined> {
    if (!idPattern.test(id)) return undefined;
    return readJsonFile<ArtifactInfo>(this.infoPath(id));
  }

  /** @throws ArtifactDigestError when the bytes on disk no longer match the recorded digest */
  async get(id: string): Promise<{ info: ArtifactInfo; data: Uint8Array } | undefined> {
    const info = await this.info(id);
    if (!info) return undefined;
    let data: Buffer;
    try {
      data = await readFile(this.binPath(id));
    } catch (err) {
      if (isNotFound(err)) return undefined; // deleted between the two reads
      throw err;
    }
    const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
    if (digest !== info.digest) throw new ArtifactDigestError(id, info.digest, digest);
    return { info, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }

  async delete(id: string): Promise<void> {
    if (!idPattern.test(id)) return;
    await unlinkIfExists(this.infoPath(id));
    await unlinkIfExists(this.binPath(id));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private binPath(id: string): string {
    return join(this.root, `${id}.bin`);
  }

  private infoPath(id: string): string {
    return join(this.root, `${id}.json`);
  }
}
