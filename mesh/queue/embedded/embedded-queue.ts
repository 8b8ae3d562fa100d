/**
 * The embedded `TaskQueue`: durable on local disk (layout in queue-files.ts) and
 * safe for every process on one machine that opens the same directory at once.
 * Enqueues of one id are serialised by a lock file; everything else moves a
 * message's single file with atomic renames.
 */
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { InvalidSubjectError, isValidSubject } from "../queue-errors.js";
import type { DeadLetter, Delivery, QueueConsumer, QueueMessage, TaskQueue, ConsumeOptions } from "../queue-types.js";
import { ensureDirs, exists, isNotFound, listNames, randomToken, writeFileAtomic } from "./fs-files.js";
import { withFileLock } from "./fs-lock.js";
import type { ResolvedEmbeddedSettings } from "./embedded-settings.js";
import { startEmbeddedConsumer } from "./embedded-consumer.js";
import { deadPath, leaseName, messageKey, parseLeaseName, parseReadyName, queuePaths, readTicket, readyPath, rewriteAndMove } from "./queue-files.js";
import type { QueuePaths, Ticket } from "./queue-files.js";

/** Options of `createEmbeddedQueue`. */
export interface EmbeddedQueueOptions {
  /** The backend directory; the queue lives in `<dir>/queue`. */
  readonly dir: string;
  readonly settings: ResolvedEmbeddedSettings;
  /** Failures of a consumer's background pass (it keeps polling); default: ignored. */
  readonly onError?: (err: unknown) => void;
}

/**
 * Opens the embedded queue in `<dir>/queue`, creating its directories.
 *
 * @throws the filesystem's error when the directory cannot be created
 */
export async function createEmbeddedQueue(options: EmbeddedQueueOptions): Promise<TaskQueue> {
  const paths = queuePaths(options.dir);
  await ensureDirs(paths.ready, paths.inflight, paths.dead, paths.ids, paths.acked, paths.locks);
  return new EmbeddedQueue(paths, options.settings, options.onError ?? (() => undefined));
}

class EmbeddedQueue implements TaskQueue {
  private readonly consumers = new Set<QueueConsumer>();

  constructor(
    private readonly paths: QueuePaths,
    private readonly settings: ResolvedEmbeddedSettings,
    private readonly onError: (err: unknown) => void,
  ) {}

  async enqueue(message: QueueMessage): Promise<{ duplicate: boolean }> {
    if (!isValidSubject(message.subject)) throw new InvalidSubjectError(message.subject);
    const key = messageKey(message.id);
    const ticket: Ticket = {
      id: message.id,
      subject: message.subject,
      data: Buffer.from(message.data).toString("base64"),
      headers: { ...message.headers },
      errors: [],
      acceptedAt: Date.now(),
    };
    await ensureDirs(join(this.paths.ready, message.subject));
    return withFileLock(join(this.paths.locks, `enqueue-${key}`), async () => {
      if (await exists(join(this.paths.ids, key))) return { duplicate: true };
      // The message before its dedup record: a crash in between leaves a message
      // that a retried enqueue writes again (at least once), never a lost one.
      await writeFileAtomic(readyPath(this.paths, ticket, ticket.acceptedAt), JSON.stringify(ticket));
      await writeFileAtomic(join(this.paths.ids, key), JSON.stringify({ id: message.id, acceptedAt: ticket.acceptedAt }));
      return { duplicate: false };
    });
  }

  consume(subject: string, handler: (delivery: Delivery) => Promise<void>, options: ConsumeOptions = {}): QueueConsumer {
    if (!isValidSubject(subject)) throw new InvalidSubjectError(subject);
    const consumer = startEmbeddedConsumer({ ...options, paths: this.paths, settings: this.settings, subject, handler, onError: this.onError });
    this.consumers.add(consumer);
    return {
      stop: async () => {
        this.consumers.delete(consumer);
        await consumer.stop();
      },
    };
  }

  async depth(subject?: string): Promise<number> {
    const subjects = subject !== undefined ? [subject] : [...new Set([...(await listNames(this.paths.ready)), ...(await listNames(this.paths.inflight))])];
    let count = 0;
    for (const s of subjects) {
      count += (await listNames(join(this.paths.ready, s))).filter((n) => parseReadyName(n)).length;
      count += (await listNames(join(this.paths.inflight, s))).filter((n) => parseLeaseName(n)).length;
    }
    return count;
  }

  async deadLetters(subject?: string): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    for (const name of await listNames(this.paths.dead)) {
      const ticket = await readTicket(join(this.paths.dead, name));
      if (!ticket || (subject !== undefined && ticket.subject !== subject)) continue;
      letters.push({
        id: ticket.id,
        subject: ticket.subject,
        data: new Uint8Array(Buffer.from(ticket.data, "base64")),
        headers: { ...ticket.headers },
        attempts: ticket.errors.length,
        errors: [...ticket.errors],
        deadAt: ticket.deadAt ?? 0,
      });
    }
    return letters.sort((a, b) => a.deadAt - b.deadAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async redrive(id: string, data?: Uint8Array): Promise<boolean> {
    const dead = deadPath(this.paths, id);
    const ticket = await readTicket(dead);
    if (!ticket) return false;
    // Taken as a lease first (one rename: a concurrent redrive finds nothing), so
    // a crash before it is queued again leaves an expired lease, which a consumer
    // reclaims (dead-lettering it again), never a lost dead letter.
    const held = join(this.paths.inflight, ticket.subject, leaseName({ key: messageKey(id), expiresAt: Date.now() + this.settings.ackWaitMs, ackWaitMs: this.settings.ackWaitMs, token: randomToken() }));
    await ensureDirs(join(this.paths.ready, ticket.subject), join(this.paths.inflight, ticket.subject));
    try {
      await rename(dead, held);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    const { deadAt: _deadAt, ...rest } = (await readTicket(held)) ?? ticket;
    const body = data === undefined ? rest.data : Buffer.from(data).toString("base64");
    await rewriteAndMove(held, { ...rest, data: body, errors: [] }, readyPath(this.paths, ticket, Date.now()));
    return true;
  }

  async close(): Promise<void> {
    const consumers = [...this.consumers];
    this.consumers.clear();
    await Promise.all(consumers.map((c) => c.stop()));
  }
}
