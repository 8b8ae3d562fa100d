/**
 * The embedded `KvStore`, under `<dir>/kv`, shared by every process on one machine:
 *
 * - `entries/<key>.json`: the live value and revision of each key;
 * - `tombs/<key>.json`: the revision of a deleted key, so revisions keep
 *   increasing when it is written again;
 * - `changes.log`: one JSON line per write or delete, appended while the key's
 *   lock is held (so in revision order per key); watchers tail it. It is not
 *   compacted: it grows with every write (about the size of the values written).
 * - `locks/<key>`: lock files around each read-modify-write.
 */
import { statSync, watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { appendFile, open } from "node:fs/promises";
import { join } from "node:path";
import { InvalidKeyError, isValidKey } from "../queue-errors.js";
import type { KvChange, KvEntry, KvStore } from "../queue-types.js";
import { ensureDirs, fileKey, listNames, readJsonFile, unFileKey, unlinkIfExists, writeFileAtomic } from "./fs-files.js";
import { withFileLock } from "./fs-lock.js";

/** Options of `createEmbeddedKv`. */
export interface EmbeddedKvOptions {
  /** The backend directory; the store lives in `<dir>/kv`. */
  readonly dir: string;
  /** How often watchers look at the change log besides file-change events; default 50 ms. */
  readonly pollIntervalMs?: number;
}

interface StoredEntry {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

interface StoredTomb {
  readonly key: string;
  readonly revision: number;
}

interface LoggedChange {
  readonly key: string;
  readonly value?: string;
  readonly revision: number;
}

/**
 * Opens the embedded KV store in `<dir>/kv`, creating it when missing.
 *
 * @throws the filesystem's error when the directory cannot be created
 */
export async function createEmbeddedKv(options: EmbeddedKvOptions): Promise<KvStore> {
  const root = join(options.dir, "kv");
  const store = new EmbeddedKv(root, options.pollIntervalMs ?? 50);
  await ensureDirs(store.entries, store.tombs, store.locks);
  await appendFile(store.log, "");
  return store;
}

class EmbeddedKv implements KvStore {
  readonly entries: string;
  readonly tombs: string;
  readonly locks: string;
  readonly log: string;
  private readonly watchers = new Set<() => void>();

  constructor(
    root: string,
    private readonly pollIntervalMs: number,
  ) {
    this.entries = join(root, "entries");
    this.tombs = join(root, "tombs");
    this.locks = join(root, "locks");
    this.log = join(root, "changes.log");
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const stored = await this.readEntry(checkKey(key));
    return stored && { key, value: new Uint8Array(Buffer.from(stored.value, "base64")), revision: stored.revision };
  }

  put(key: string, value: Uint8Array): Promise<number> {
    return this.write(key, value, () => true) as Promise<number>;
  }

  create(key: string, value: Uint8Array): Promise<number | undefined> {
    return this.write(key, value, (current) => current === undefined);
  }

  update(key: string, value: Uint8Array, revision: number): Promise<number | undefined> {
    return this.write(key, value, (current) => current?.revision === revision);
  }

  async delete(key: string): Promise<void> {
    const name = fileKey(checkKey(key));
    await withFileLock(join(this.locks, name), async () => {
      const current = await this.readEntry(key);
      if (!current) return;
      const revision = current.revision + 1;
      await writeFileAtomic(join(this.tombs, `${name}.json`), JSON.stringify({ key, revision } satisfies StoredTomb));
      await unlinkIfExists(join(this.entries, `${name}.json`));
      await appendFile(this.log, `${JSON.stringify({ key, revision } satisfies LoggedChange)}\n`);
    });
  }

  async keys(prefix = ""): Promise<string[]> {
    const keys: string[] = [];
    for (const name of await listNames(this.entries)) {
      if (!name.endsWith(".json")) continue;
      const base = name.slice(0, -".json".length);
      const key = unFileKey(base) ?? (await readJsonFile<StoredEntry>(join(this.entries, name)))?.key;
      if (key !== undefined && key.startsWith(prefix)) keys.push(key);
    }
    return keys.sort();
  }

  watch(prefix: string, onChange: (change: KvChange) => void): () => void {
    const tail = new LogTail(this.log, (line) => {
      const change = parseChange(line);
      if (change && change.key.startsWith(prefix)) onChange(change);
    });
    const timer = setInterval(() => tail.kick(), this.pollIntervalMs);
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(this.log, { persistent: false }, () => tail.kick());
      watcher.on("error", () => watcher?.close());
    } catch {
      // The interval poll still sees every change.
    }
    const stop = (): void => {
      clearInterval(timer);
      watcher?.close();
      tail.stop();
      this.watchers.delete(stop);
    };
    this.watchers.add(stop);
    return stop;
  }

  close(): Promise<void> {
    for (const stop of [...this.watchers]) stop();
    return Promise.resolve();
  }

  private async write(key: string, value: Uint8Array, allowed: (current: StoredEntry | undefined) => boolean): Promise<number | undefined> {
    const name = fileKey(checkKey(key));
    return withFileLock(join(this.locks, name), async () => {
      const current = await this.readEntry(key);
      if (!allowed(current)) return undefined;
      const previous = current?.revision ?? (await readJsonFile<StoredTomb>(join(this.tombs, `${name}.json`)))?.revision ?? 0;
      const entry: StoredEntry = { key, value: Buffer.from(value).toString("base64"), revision: previous + 1 };
      await writeFileAtomic(join(this.entries, `${name}.json`), JSON.stringify(entry));
      if (!current) await unlinkIfExists(join(this.tombs, `${name}.json`));
      await appendFile(this.log, `${JSON.stringify(entry satisfies LoggedChange)}\n`);
      return entry.revision;
    });
  }

  private readEntry(key: string): Promise<StoredEntry | undefined> {
    return readJsonFile<StoredEntry>(join(this.entries, `${fileKey(key)}.json`));
  }
}

function checkKey(key: string): string {
  if (!isValidKey(key)) throw new InvalidKeyError(key);
  return key;
}

function parseChange(line: string): KvChange | undefined {
  try {
    const logged = JSON.parse(line) as LoggedChange;
    return { key: logged.key, value: logged.value === undefined ? undefined : new Uint8Array(Buffer.from(logged.value, "base64")), revision: logged.revision };
  } catch {
    return undefined; // a torn line (a writer died mid-append) carries no change
  }
}

/** Reads the lines appended to a file after it was created, one pass at a time. */
class LogTail {
  private offset: number;
  private partial = "";
  private reading = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly path: string,
    private readonly onLine: (line: string) => void,
  ) {
    // Synchronous, so that a write made right after `watch()` returns is seen.
    this.offset = statSync(path).size;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.readAll().finally(() => {
      this.reading = false;
    });
  }

  stop(): void {
    this.stopped = true;
  }

  private async readAll(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.readNew();
      } catch {
        // Read again on the next kick.
      }
    } while (this.again && !this.stopped);
  }

  private async readNew(): Promise<void> {
    const handle = await open(this.path, "r");
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return;
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset += bytesRead;
      const lines = (this.partial + buffer.subarray(0, bytesRead).toString("utf8")).split("\n");
      this.partial = lines.pop() ?? "";
      for (const line of lines) {
        if (this.stopped) return;
        if (line) this.onLine(line);
      }
    } finally {
      await handle.close();
    }
  }
}
