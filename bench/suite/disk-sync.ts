/**
 * How long this machine takes to make an append durable: `appendFile` +
 * `fdatasync` on a file in the directory the mesh's journals live in during the
 * suite (the OS temp dir, where the test mesh keeps its home). A Delegate is
 * answered only after its task record is synced at the worker and again at the
 * gateway, so this bounds the latency the mesh adds at low load.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import * as os from "node:os";
import { join } from "node:path";
import { percentile } from "../policy/latency-sample.js";

/** Latency of one durable append, ms. */
export interface SyncLatency {
  readonly dir: string;
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
}

/** Times `samples` appends of one short line, each followed by fdatasync. */
export async function measureSyncLatency(samples = 200): Promise<SyncLatency> {
  const dir = mkdtempSync(join(os.tmpdir(), "agentmesh-bench-sync-"));
  const fh = await open(join(dir, "probe.jsonl"), "a");
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      await fh.appendFile('{"t":"probe"}\n');
      await fh.datasync();
      times.push(performance.now() - t);
    }
  } finally {
    await fh.close();
    rmSync(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  return { dir: os.tmpdir(), samples, p50: percentile(times, 50), p99: percentile(times, 99) };
}
