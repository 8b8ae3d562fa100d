/**
 * The KV store's change log, shared by every process on the machine: one JSON
 * line per change, appended to numbered segment files (`<n>.log`) in one
 * directory. A writer moves on to segment n+1 once n passes `segmentBytes`, and
 * drops segments two behind the newest that nobody wrote for a minute, so the log
 * holds about two segments however long the store lives.
 *
 * Readers (`ChangeLogTail`) keep reading segment n for a grace period after n+1
 * appears: a writer that looked up the newest segment just before the switch may
 * still append to n. They read the older segment first in every pass, so a key's
 * changes (appended in order under the key's lock) are seen in order.
 */
import { readdirSync, statSync } from "node:fs";
import { open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { exists, isExists, isNotFound } from "./fs-files.js";

/** How long readers keep reading a segment after the next one appeared. */
const graceMs = 5000;
/** Segments this old (and two behind the newest) are removed. */
const pruneAfterMs = 60_000;

function segmentName(n: number): string {
  return `${String(n).padStart(12, "0")}.log`;
}

function segmentNumbers(names: string[]): number[] {
  return names.flatMap((name) => (/^\d{12}\.log$/.test(name) ? [Number(name.slice(0, 12))] : [])).sort((a, b) => a - b);
}


/** Appends lines to the newest segment, starting a new one past `segmentBytes`. */
export class ChangeLogWriter {
  private current: number | undefined;

  /**
   * @param dir the log directory (must exist)
   * @param segmentBytes size past which a new segment starts; default 16 MiB
   */
  constructor(
    private readonly dir: string,
    private readonly segmentBytes = 16 * 1024 * 1024,
  ) {}

  /** Appends one line (without its newline) in a single write. */
  async append(line: string): Promise<void> {
    let n = this.current ?? segmentNumbers(await readdir(this.dir)).at(-1) ?? 0;
    while (await exists(join(this.dir, segmentName(n + 1)))) n++;
    this.current = n;
    const handle = await open(join(this.dir, segmentName(n)), "a");
    let size: number;
    try {
      await handle.write(`${line}\n`);
      size = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    if (size > this.segmentBytes) await this.rotate(n);
  }

  private async rotate(n: number): Promise<void> {
    try {
      await (await open(join(this.dir, segmentName(n + 1)), "wx")).close();
    } catch (err) {
      if (!isExists(err)) throw err; // another writer rotated first
    }
    this.current = n + 1;
    for (const old of segmentNumbers(await readdir(this.dir))) {
      if (old >= n) break;
      const path = join(this.dir, segmentName(old));
      try {
        if (Date.now() - (await stat(path)).mtimeMs > pruneAfterMs) await unlink(path);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
}

interface TailedSegment {
  readonly n: number;
  offset: number;
  partial: string;
  /** When set, the segment is dropped after this time (the next one exists). */
  retireAt?: number;
}

/** Reads the lines appended to a change log after the tail was created, one pass at a time. */
export class ChangeLogTail {
  private readonly segments: TailedSegment[];
  private reading = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly dir: string,
    private readonly onLine: (line: string) => void,
  ) {
    // Synchronous, so that a write made right after the tail is created is seen.
    const n = segmentNumbers(readdirSync(dir)).at(-1) ?? 0;
    let offset = 0;
    try {
      offset = statSync(join(dir, segmentName(n))).size;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.segments = [{ n, offset, partial: "" }];
  }

  /** Reads what was appended since the last pass (or asks the running pass to go again). */
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
        await this.pass();
      } catch {
        // Read again on the next kick.
      }
    } while (this.again && !this.stopped);
  }

  private async pass(): Promise<void> {
    for (const segment of this.segments) await this.readNew(segment);
    const newest = this.segments.at(-1);
    if (newest && (await exists(join(this.dir, segmentName(newest.n + 1))))) {
      for (const s of this.segments) s.retireAt ??= Date.now() + graceMs;
      const next: TailedSegment = { n: newest.n + 1, offset: 0, partial: "" };
      this.segments.push(next);
      await this.readNew(next);
    }
    while (this.segments.length > 1 && (this.segments[0]?.retireAt ?? Infinity) < Date.now()) this.segments.shift();
  }

  private async readNew(segment: TailedSegment): Promise<void> {
    let handle;
    try {
      handle = await open(join(this.dir, segmentName(segment.n)), "r");
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    try {
      const { size } = await handle.stat();
      if (size <= segment.offset) return;
      const buffer = Buffer.alloc(size - segment.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, segment.offset);
      segment.offset += bytesRead;
      const lines = (segment.partial + buffer.subarray(0, bytesRead).toString("utf8")).split("\n");
      segment.partial = lines.pop() ?? "";
      for (const line of lines) {
        if (this.stopped) return;
        if (line) this.onLine(line);
      }
    } finally {
      await handle.close();
    }
  }
}
