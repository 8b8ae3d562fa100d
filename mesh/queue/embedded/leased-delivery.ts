/**
 * One delivery of the embedded queue: the consumer holds the message's lease file
 * in `inflight/`, and settling moves or removes that file. Every operation first
 * renews the lease by renaming it (atomic): when the rename finds no file, the
 * lease expired and another consumer took the message over (counting this attempt
 * as lost), and this delivery can no longer settle it.
 */
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Delivery } from "../queue-types.js";
import { isNotFound, listNames, unlinkIfExists } from "./fs-files.js";
import type { ResolvedEmbeddedSettings } from "./embedded-settings.js";
import { deadPath, leaseName, messageKey, parseReadyName, readyPath, rewriteAndMove } from "./queue-files.js";
import type { LeaseName, QueuePaths, Ticket } from "./queue-files.js";

/** A delivery backed by a lease file; settle calls after the first are ignored. */
export class LeasedDelivery implements Delivery {
  readonly id: string;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly attempt: number;
  readonly errors: readonly string[];
  private lease: LeaseName;
  private settled = false;
  /** Operations on the lease file run one at a time. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly paths: QueuePaths,
    private readonly settings: ResolvedEmbeddedSettings,
    private readonly ticket: Ticket,
    lease: LeaseName,
  ) {
    this.id = ticket.id;
    this.subject = ticket.subject;
    this.data = new Uint8Array(Buffer.from(ticket.data, "base64"));
    this.headers = { ...ticket.headers };
    this.attempt = ticket.errors.length + 1;
    this.errors = [...ticket.errors];
    this.lease = lease;
  }

  /** True once ack, nak or term ran. */
  get isSettled(): boolean {
    return this.settled;
  }

  ack(): Promise<void> {
    return this.settle(async () => {
      if (!(await unlinkIfExists(this.leasePath()))) {
        // Taken over after the lease expired: if the takeover only put it back on
        // the queue (or dead-lettered it), the work is done, so take it off again.
        // When another consumer holds it now, that one settles it.
        if (!(await this.removeReadyCopy()) && !(await unlinkIfExists(deadPath(this.paths, this.id)))) return;
      }
      await writeFile(join(this.paths.acked, messageKey(this.id)), "");
    });
  }

  nak(reason: string, delayMs?: number): Promise<void> {
    return this.settle(async () => {
      if (!(await this.renew())) return;
      const errors = [...this.ticket.errors, reason];
      if (errors.length >= this.settings.maxDeliveries) return this.deadLetter(errors);
      const delay = delayMs ?? this.settings.backoffFor(errors.length);
      await rewriteAndMove(this.leasePath(), { ...this.ticket, errors }, readyPath(this.paths, this.ticket, Date.now() + delay));
    });
  }

  term(reason: string): Promise<void> {
    return this.settle(async () => {
      if (!(await this.renew())) return;
      await this.deadLetter([...this.ticket.errors, reason]);
    });
  }

  working(): Promise<void> {
    return this.serial(async () => {
      if (!this.settled) await this.renew();
    });
  }

  private async deadLetter(errors: string[]): Promise<void> {
    await rewriteAndMove(this.leasePath(), { ...this.ticket, errors, deadAt: Date.now() }, deadPath(this.paths, this.id));
  }

  private settle(op: () => Promise<void>): Promise<void> {
    return this.serial(async () => {
      if (this.settled) return;
      this.settled = true;
      await op();
    });
  }

  private serial(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private leasePath(): string {
    return join(this.paths.inflight, this.subject, leaseName(this.lease));
  }

  /** Pushes the lease's expiry out by the ack wait; false when the lease was lost. */
  private async renew(): Promise<boolean> {
    const renewed: LeaseName = { ...this.lease, expiresAt: Date.now() + this.settings.ackWaitMs, ackWaitMs: this.settings.ackWaitMs };
    try {
      await rename(this.leasePath(), join(this.paths.inflight, this.subject, leaseName(renewed)));
      this.lease = renewed;
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async removeReadyCopy(): Promise<boolean> {
    const dir = join(this.paths.ready, this.subject);
    const key = messageKey(this.id);
    for (const name of await listNames(dir)) {
      if (parseReadyName(name)?.key === key && (await unlinkIfExists(join(dir, name)))) return true;
    }
    return false;
  }
}
