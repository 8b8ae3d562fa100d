/**
 * The filesystem operations the embedded adapters build on. Every durable write
 * goes to a temporary file in the same directory, is fsync'ed, then renamed over
 * its name (rename is atomic on POSIX filesystems), then the directory is fsync'ed
 * so the new name itself survives a crash.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A random hex token, unique enough for temporary and lease file names. */
export function randomToken(): string {
  return randomBytes(8).toString("hex");
}

/** True for the Node error of a missing file or directory. */
export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

/** True for the Node error of a name that exists already. */
export function isExists(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === "EEXIST";
}

/** Flushes a directory's entries (new and renamed names) to disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to a new temporary file beside `path` and fsyncs it; returns the temporary name. */
async function writeTempFile(path: string, data: Uint8Array | string): Promise<string> {
  const temp = join(dirname(path), `.tmp-${basename(path)}-${randomToken()}`);
  const handle = await open(temp, "wx");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** Replaces `path` with `data` atomically and durably (temp file, fsync, rename, fsync of the directory). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = await writeTempFile(path, data);
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** Parses a JSON file; undefined when it does not exist. */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** True when `path` exists; other errors than ENOENT are thrown. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** The names in a directory, without temporary files; empty when the directory does not exist. */
export async function listNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => !name.startsWith(".tmp-"));
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** Removes a file; false when it was not there. */
export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Creates directories (and their parents) that may exist already. */
export async function ensureDirs(...dirs: string[]): Promise<void> {
  for (const dir of dirs) await mkdir(dir, { recursive: true });
}

/** Longest encoded name kept readable; longer ones are hashed (file names stop at 255 bytes). */
const maxReadableName = 200;

/**
 * Turns any string (a message id, a KV key) into a file name, one to one:
 * `[A-Za-z0-9_-]` stay, every other UTF-8 byte becomes `%XX`. Encoding keeps
 * prefixes (the encoding of a prefix is a prefix of the encoding). Names longer
 * than 200 characters become `#<sha256 hex>`: the original must then be stored in
 * the file itself.
 */
export function fileKey(s: string): string {
  const encoded = encodeURIComponent(s).replace(/[!'()*.~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return encoded.length > maxReadableName ? `#${createHash("sha256").update(s).digest("hex")}` : encoded;
}

/** The inverse of `fileKey`; undefined for a hashed name. */
export function unFileKey(name: string): string | undefined {
  return name.startsWith("#") ? undefined : decodeURIComponent(name);
}

/** Removes the temporary files (`.tmp-*`, left by a process that died mid-write) older than `maxAgeMs` in `dir`. */
export async function removeStaleTempFiles(dir: string, maxAgeMs: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  for (const name of names) {
    if (!name.startsWith(".tmp-")) continue;
    const path = join(dir, name);
    try {
      if (Date.now() - (await stat(path)).mtimeMs > maxAgeMs) await unlink(path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
