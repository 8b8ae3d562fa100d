/**
 * A consumer of one subject of the embedded queue. It takes ready messages by
 * renaming their file into `inflight/` under its own lease (one rename wins among
 * competing consumers, in this process or any other), up to `maxInFlight` at once.
 * It looks for work when the ready directory changes (fs.watch) and, as a fallback
 * and for delayed and expired messages, every poll interval.
 */
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import type { ConsumeOptions, Delivery, QueueConsumer } from "../queue-types.js";
import { ensureDirs, isNotFound, listNames, randomToken, removeStaleTempFiles } from "./fs-files.js";
import type { ResolvedEmbeddedSettings } from "./embedded-settings.js";
import { LeasedDelivery } from "./leased-delivery.js";
import { leaseName, parseReadyName, readTicket } from "./queue-files.js";
import type { LeaseName, QueuePaths } from "./queue-files.js";
import { reclaimExpired } from "./reclaim-expired.js";
import { sweepDedupRecords } from "./sweep-dedup-records.js";

/** Temporary files older than this were left by a process that died mid-write. */
const staleTempMs = 10 * 60_000;

/** What a consumer needs from its queue. */
export interface EmbeddedConsumerOptions extends ConsumeOptions {
  readonly paths: QueuePaths;
  readonly settings: ResolvedEmbeddedSettings;
  readonly subject: string;
  readonly handler: (delivery: Delivery) => Promise<void>;
  /** Called when a pass over the queue fails (e.g. disk full); the consumer keeps polling. */
  readonly onError: (err: unknown) => void;
}

/** Starts a consumer; it runs until `stop()`. */
export function startEmbeddedConsumer(options: EmbeddedConsumerOptions): QueueConsumer {
  return new EmbeddedConsumer(options);
}

class EmbeddedConsumer implements QueueConsumer {
  private readonly maxInFlight: number;
  private readonly running = new Set<Promise<void>>();
  private readonly readyDir: string;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private pass: Promise<void> | undefined;
  private again = false;
  private lastSweep = Date.now();

  constructor(private readonly o: EmbeddedConsumerOptions) {
    this.maxInFlight = Math.max(1, Math.floor(o.maxInFlight ?? 1));
    this.readyDir = join(o.paths.ready, o.subject);
    this.pass = this.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.watcher?.close();
    while (this.pass || this.running.size > 0) {
      await this.pass;
      await Promise.all(this.running);
    }
  }

  private async start(): Promise<void> {
    try {
      await ensureDirs(this.readyDir, join(this.o.paths.inflight, this.o.subject));
    } catch (err) {
      this.o.onError(err);
    }
    this.pass = undefined;
    if (this.stopped) return;
    try {
      this.watcher = watch(this.readyDir, { persistent: false }, () => this.kick());
      this.watcher.on("error", () => this.watcher?.close());
    } catch {
      // The interval poll below still finds the work.
    }
    this.timer = setInterval(() => this.kick(), this.o.settings.pollIntervalMs);
    this.kick();
  }

  /** Starts a pass over the queue, or asks the running one to go again. */
  private kick(): void {
    if (this.stopped) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = this.runPasses().finally(() => {
      this.pass = undefined;
    });
  }

  private async runPasses(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.onePass();
      } catch (err) {
        this.o.onError(err);
      }
    } while (this.again && !this.stopped);
  }

  private async onePass(): Promise<void> {
    const { paths, settings, subject } = this.o;
    await reclaimExpired(paths, subject, settings);
    if (Date.now() - this.lastSweep > Math.min(60_000, settings.dedupWindowMs)) {
      this.lastSweep = Date.now();
      await sweepDedupRecords(paths, settings.dedupWindowMs);
      for (const dir of [this.readyDir, join(paths.inflight, subject), paths.dead, paths.ids]) await removeStaleTempFiles(dir, staleTempMs);
    }
    if (this.running.size >= this.maxInFlight) return;
    const names = (await listNames(this.readyDir)).sort();
    for (const name of names) {
      if (this.stopped || this.running.size >= this.maxInFlight) return;
      const ready = parseReadyName(name);
      if (!ready) continue;
      // Names sort by readyAt: the rest are not due yet either.
      if (ready.readyAt > Date.now()) return;
      await this.claim(name, ready.key);
    }
  }

  private async claim(name: string, key: string): Promise<void> {
    const { paths, settings, subject } = this.o;
    const lease: LeaseName = { key, expiresAt: Date.now() + settings.ackWaitMs, ackWaitMs: settings.ackWaitMs, token: randomToken() };
    const held = join(paths.inflight, subject, leaseName(lease));
    try {
      await rename(join(this.readyDir, name), held);
    } catch (err) {
      if (isNotFound(err)) return; // another consumer won it
      throw err;
    }
    const ticket = await readTicket(held);
    if (!ticket) return;
    const delivery = new LeasedDelivery(paths, settings, ticket, lease);
    const run = this.deliver(delivery).finally(() => {
      this.running.delete(run);
      this.kick();
    });
    this.running.add(run);
  }

  private async deliver(delivery: LeasedDelivery): Promise<void> {
    try {
      await this.o.handler(delivery);
    } catch (err) {
      if (delivery.isSettled) return;
      try {
        await delivery.nak(err instanceof Error ? err.message : String(err));
      } catch (nakErr) {
        this.o.onError(nakErr);
      }
    }
  }
}
