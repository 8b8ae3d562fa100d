// The `outbox.write` tool.
import { randomUUID } from "node:crypto";
import { link, mkdir, open, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { outboxFileName } from "./outbox-file-name.js";
import { PublishConflictError } from "./publish-conflict-error.js";
import { sha256Digest } from "./sha256-digest.js";

/** What an outbox write did. */
export interface OutboxWrite {
  /** Absolute path of the task's outbox file. */
  path: string;
  digest: string;
  bytes: number;
  /** True when the file already held exactly this content and was left untouched. */
  alreadyPublished: boolean;
}

/**
 * Writes a task's content to `<outboxDir>/<outboxFileName(taskId)>` at most once,
 * creating the directory if needed. The bytes go to a unique temporary file in the
 * same directory, are flushed to disk, then hard-linked to the final name and the
 * temporary file removed. A link, unlike rename(), fails when the name exists, so
 * two concurrent publishes of one task id cannot silently replace each other's file:
 * readers see no file or the whole file, and the loser compares digests like a late
 * caller. A file already holding the same bytes is left untouched.
 *
 * Needs a filesystem with hard links (any local Linux or macOS one).
 *
 * @throws PublishConflictError when the task's file exists with different content.
 * @throws the filesystem's error (e.g. EACCES, ENOSPC) when writing fails; no
 *   temporary file is left behind.
 */
export async function writeOutboxFile(outboxDir: string, taskId: string, content: string): Promise<OutboxWrite> {
  const directory = resolve(outboxDir);
  const path = join(directory, outboxFileName(taskId));
  const data = Buffer.from(content, "utf8");
  const digest = sha256Digest(data);
  const settle = (existing: Buffer): OutboxWrite => {
    const existingDigest = sha256Digest(existing);
    if (existingDigest !== digest) throw new PublishConflictError(taskId, path, existingDigest, digest);
    return { path, digest, bytes: existing.length, alreadyPublished: true };
  };

  await mkdir(directory, { recursive: true });
  const existing = await readIfExists(path);
  if (existing !== undefined) return settle(existing);

  // Starts with "." so it can never be mistaken for (or collide with) a task's file.
  const temporary = join(directory, `.${randomUUID()}.tmp`);
  try {
    const handle = await open(temporary, "wx");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temporary, path);
    } catch (error) {
      if (!isErrorCode(error, "EEXIST")) throw error;
      return settle(await readFile(path));
    }
  } finally {
    await rm(temporary, { force: true });
  }
  return { path, digest, bytes: data.length, alreadyPublished: false };
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isErrorCode(error, "ENOENT")) return undefined;
    throw error;
  }
}

function isErrorCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
