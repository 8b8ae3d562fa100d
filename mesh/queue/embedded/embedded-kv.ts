/**
 * The embedded `KvStore`, under `<dir>/kv`, shared by every process on one machine:
 *
 * - `entries/<key>.json`: the live value and revision of each key;
 * - `tombs/<key>.json`: the revision of a deleted key, so revisions keep
 *   increasing when it is written again;
 * - `changes/`: one JSON line per write or delete, appended while the key's
 *   lock is held (so in revision order per key); watchers tail it (change-log.ts,
 *   which also keeps it to about two segments).
 * - `locks/<key>`: lock files around each read-modify-write.
 */
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { join } from "node:path";
import { InvalidKeyError, isValidKey } from "../queue-errors.js";
import type { KvChange, KvEntry, KvStore } from "../queue-types.js";
import { ensureDirs, fileKey, listNames, readJsonFile, unFileKey, unlinkIfExists, writeFileAtomic } from "./fs-files.js";
import { withFileLock } from "./fs-lock.js";
import { ChangeLogTail, ChangeLogWriter } from "./change-log.js";

/** Options of `createEmbeddedKv`. */
export interface EmbeddedKvOptions {
  /** The backend directory; the store lives in `<dir>/kv`. */
  readonly dir: string;
  /** How often watchers look at the change log besides file-change events; default 50 ms. */
  readonly pollIntervalMs?: number;
  /** Size past which the change log starts a new segment; default 16 MiB. */
  readonly logSegmentBytes?: number;
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
  const store = new EmbeddedKv(root, options.pollIntervalMs ?? 50, options.logSegmentBytes);
  await ensureDirs(store.entries, store.tombs, store.locks, store.log);
  return store;
}

class EmbeddedKv implements KvStore {
  readonly entries: string;
  readonly tombs: string;
  readonly locks: string;
  readonly log: string;
  private readonly watchers = new Set<() => void>();
  private readonly logWriter: ChangeLogWriter;

  constructor(
    root: string,
    private readonly pollIntervalMs: number,
    logSegmentBytes: number | undefined,
  ) {
    this.entries = join(root, "entries");
    this.tombs = join(root, "tombs");
    this.locks = join(root, "locks");
    this.log = join(root, "changes");
    this.logWriter = new ChangeLogWriter(this.log, logSegmentBytes);
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
      await this.logWriter.append(JSON.stringify({ key, revision } satisfies LoggedChange));
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
    const tail = new ChangeLogTail(this.log, (line) => {
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
      await this.logWriter.append(JSON.stringify(entry satisfies LoggedChange));
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
