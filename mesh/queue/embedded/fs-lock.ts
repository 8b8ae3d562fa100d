/**
 * A short-lived lock shared by every process on one machine: a lock file created
 * with `open(..., "wx")` (exclusive), removed on release. A holder killed with
 * SIGKILL leaves its file behind; a file older than `staleMs` is taken to be such a
 * leftover and broken. Locks guard read-modify-write sections of a few
 * milliseconds, so a stale age of seconds cannot break a live holder's lock.
 */
import { link, open, rename, stat, unlink } from "node:fs/promises";
import { isExists, isNotFound, randomToken } from "./fs-files.js";

/** Options of `withFileLock`. */
export interface FileLockOptions {
  /** A lock file older than this is a dead holder's and is broken; default 10 000 ms. */
  readonly staleMs?: number;
  /** Give up after this long; default 30 000 ms. */
  readonly timeoutMs?: number;
}

/** The lock could not be taken within the timeout (another process holds it, alive). */
export class FileLockTimeoutError extends Error {
  override readonly name = "FileLockTimeoutError";
  /** The holder may release it soon. */
  readonly nonRetryable = false;

  constructor(readonly path: string, timeoutMs: number) {
    super(`lock ${path} not acquired within ${timeoutMs} ms`);
  }
}

/**
 * Runs `fn` while holding the lock file `path`; the file's directory must exist.
 *
 * @throws FileLockTimeoutError when the lock stays held past `timeoutMs`
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let wait = 1;
  for (;;) {
    if (await tryAcquire(path)) break;
    await breakIfStale(path, staleMs);
    if (Date.now() > deadline) throw new FileLockTimeoutError(path, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 20);
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

async function tryAcquire(path: string): Promise<boolean> {
  try {
    const handle = await open(path, "wx");
    await handle.close();
    return true;
  } catch (err) {
    if (isExists(err)) return false;
    throw err;
  }
}

/**
 * Breaks a stale lock. The file is first renamed to a private name (only one
 * breaker can win that), then checked again: a lock taken afresh between the age
 * check and the rename is put back with `link`, which fails (leaving the new
 * holder's lock alone) if yet another process took the lock meanwhile.
 */
async function breakIfStale(path: string, staleMs: number): Promise<void> {
  try {
    const before = await stat(path);
    if (Date.now() - before.mtimeMs < staleMs) return;
    const aside = `${path}.breaking-${randomToken()}`;
    await rename(path, aside);
    const after = await stat(aside);
    if (Date.now() - after.mtimeMs < staleMs) await link(aside, path).catch(() => undefined);
    await unlink(aside);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
