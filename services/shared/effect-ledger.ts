/**
 * The durable record of what an agent did to the world, one effect per key, made
 * at most once: the effect's file is written to a temporary name, flushed and
 * hard-linked into place (a link, unlike a rename, fails when the name exists), so
 * two runs of the same task (a redelivery, a retry after a crash) cannot both
 * apply it. Every effect applied is also appended to `effects.jsonl`, in order,
 * for the people (and tests) who check that each happened once. The effect's file
 * is what counts: a crash between the link and the append leaves an effect on
 * record without its journal line, never the other way round.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { link, mkdir, open, readFile, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { openJsonlLog } from "../../mesh/index.js";
import type { JsonlLog } from "../../mesh/index.js";

/** One applied effect. */
export interface Effect<T extends Record<string, unknown> = Record<string, unknown>> {
  /** What it was, e.g. "budget.reserved". */
  readonly kind: string;
  /** The effect's key (unique within the ledger). */
  readonly key: string;
  /** The task that applied it. */
  readonly taskId: string;
  /** ISO 8601. */
  readonly at: string;
  readonly data: T;
}

/** An agent's effects in one directory. */
export interface EffectLedger {
  /** Applies `effect` unless its key was applied before; resolves to the effect on record and whether this call applied it. */
  apply<T extends Record<string, unknown>>(effect: Omit<Effect<T>, "at">): Promise<{ applied: boolean; effect: Effect<T> }>;
  get<T extends Record<string, unknown>>(key: string): Promise<Effect<T> | undefined>;
  /**
   * Removes the record of `key` only when the record on disk now satisfies
   * `holds` (e.g. it is still this schedule's booking, not one made since);
   * false when there was none or it did not. The record is moved aside first and
   * checked there, so one made meanwhile by another process is never removed.
   */
  removeIf<T extends Record<string, unknown>>(key: string, holds: (effect: Effect<T>) => boolean): Promise<boolean>;
  /** Every effect applied, oldest first, from `effects.jsonl`. */
  journal(): Promise<Effect[]>;
  /** Keys on record that start with `prefix`, sorted. */
  keys(prefix?: string): Promise<string[]>;
}

/** Effect keys: letters, digits, ".", "_", "-" (task ids of the mesh qualify). */
const keyPattern = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** Opens the ledger in `dir` (made on first write). Throws a RangeError for a key that is not `[A-Za-z0-9._-]`. */
export function openEffectLedger(dir: string): EffectLedger {
  // The shared durable JSONL log (synced appends, a torn last line skipped), opened on first use.
  const journalPath = join(dir, "effects.jsonl");
  let log: JsonlLog<Effect> | undefined;
  const journalLog = () => (log ??= openJsonlLog<Effect>(journalPath));
  const path = (key: string) => {
    if (!keyPattern.test(key)) throw new RangeError(`effect key ${JSON.stringify(key)} must be 1 to 200 of [A-Za-z0-9._-], not starting with "."`);
    return join(dir, `${key}.json`);
  };
  const get = async <T extends Record<string, unknown>>(key: string): Promise<Effect<T> | undefined> => {
    try {
      return JSON.parse(await readFile(path(key), "utf8")) as Effect<T>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  };
  return {
    get,
    async apply<T extends Record<string, unknown>>(effect: Omit<Effect<T>, "at">) {
      const target = path(effect.key);
      const existing = await get<T>(effect.key);
      if (existing !== undefined) return { applied: false, effect: existing };
      await mkdir(dir, { recursive: true });
      const record: Effect<T> = { kind: effect.kind, key: effect.key, taskId: effect.taskId, at: new Date().toISOString(), data: effect.data };
      const temporary = join(dir, `.${randomUUID()}.tmp`);
      try {
        const handle = await open(temporary, "wx");
        try {
          await handle.writeFile(JSON.stringify(record, null, 2) + "\n");
          await handle.sync();
        } finally {
          await handle.close();
        }
        try {
          await link(temporary, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
          return { applied: false, effect: (await get<T>(effect.key))! };
        }
      } finally {
        await rm(temporary, { force: true });
      }
      await journalLog().append(record);
      return { applied: true, effect: record };
    },
    async removeIf<T extends Record<string, unknown>>(key: string, holds: (effect: Effect<T>) => boolean) {
      const current = await get<T>(key);
      if (current === undefined || !holds(current)) return false;
      const aside = join(dir, `.${randomUUID()}.removing`);
      try {
        await rename(path(key), aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
        throw err;
      }
      const moved = JSON.parse(await readFile(aside, "utf8")) as Effect<T>;
      if (holds(moved)) {
        await rm(aside, { force: true });
        return true;
      }
      // Replaced between the read and the move: put the new record back.
      try {
        await link(aside, path(key));
      } finally {
        await rm(aside, { force: true });
      }
      return false;
    },
    journal() {
      return Promise.resolve(existsSync(journalPath) ? journalLog().readAll() : []);
    },
    async keys(prefix = "") {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw err;
      }
      return names.filter((n) => n.endsWith(".json") && !n.startsWith(".") && n.startsWith(prefix)).map((n) => n.slice(0, -".json".length)).sort();
    },
  };
}
