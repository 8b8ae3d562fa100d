/**
 * Drops the dedup records of messages acked longer ago than the dedup window, so
 * the id store does not grow without bound. Records of messages still queued,
 * in flight or dead-lettered stay.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { isNotFound, listNames, unlinkIfExists } from "./fs-files.js";
import type { QueuePaths } from "./queue-files.js";

/** Removes `ids/<key>` and `acked/<key>` for every id acked more than `windowMs` ago; resolves to how many. */
export async function sweepDedupRecords(paths: QueuePaths, windowMs: number): Promise<number> {
  let dropped = 0;
  for (const key of await listNames(paths.acked)) {
    const path = join(paths.acked, key);
    try {
      if (Date.now() - (await stat(path)).mtimeMs <= windowMs) continue;
    } catch (err) {
      if (isNotFound(err)) continue;
      throw err;
    }
    await unlinkIfExists(join(paths.ids, key));
    await unlinkIfExists(path);
    dropped++;
  }
  return dropped;
}
