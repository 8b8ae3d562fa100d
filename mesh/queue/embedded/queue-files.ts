/**
 * The on-disk layout of the embedded task queue under `<dir>/queue`. A message is
 * ONE file (a `Ticket`) that moves between directories by `rename`, which is
 * atomic, so exactly one process wins each move:
 *
 * - `ready/<subject>/<readyAt>~<key>.json`: waiting; not delivered before
 *   `readyAt` (epoch ms, zero-padded so names sort by it, oldest first).
 * - `inflight/<subject>/<key>~<expiresAt>~<ackWaitMs>~<token>`: leased to one
 *   consumer (its random token) until `expiresAt`; renewed by renaming to a later
 *   expiry; an expired lease may be taken by any consumer of the subject.
 * - `dead/<key>.json`: dead letters.
 * - `ids/<key>`: accepted ids (dedup); `acked/<key>`: when an id was acked, so its
 *   dedup record can be dropped after the dedup window; `locks/`: lock files.
 *
 * `<key>` is the message id as a file name (`fileKey`).
 */
import { rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileKey, fsyncDir, readJsonFile, writeFileAtomic } from "./fs-files.js";

/** A message as stored: the bytes in base64, the reasons of this round's failed attempts. */
export interface Ticket {
  readonly id: string;
  readonly subject: string;
  readonly data: string;
  readonly headers: Record<string, string>;
  /** One reason per failed attempt since it was enqueued or redriven; the next attempt is `errors.length + 1`. */
  readonly errors: string[];
  readonly acceptedAt: number;
  /** Set on dead letters. */
  readonly deadAt?: number;
}

/** Paths of one queue directory. */
export interface QueuePaths {
  readonly root: string;
  readonly ready: string;
  readonly inflight: string;
  readonly dead: string;
  readonly ids: string;
  readonly acked: string;
  readonly locks: string;
}

/** The paths under `<dir>/queue`. */
export function queuePaths(dir: string): QueuePaths {
  const root = join(dir, "queue");
  return {
    root,
    ready: join(root, "ready"),
    inflight: join(root, "inflight"),
    dead: join(root, "dead"),
    ids: join(root, "ids"),
    acked: join(root, "acked"),
    locks: join(root, "locks"),
  };
}

/** The name of a ready ticket. */
export function readyName(key: string, readyAt: number): string {
  return `${String(Math.max(0, Math.floor(readyAt))).padStart(15, "0")}~${key}.json`;
}

/** Parses a ready name; undefined for anything else. */
export function parseReadyName(name: string): { readyAt: number; key: string } | undefined {
  const match = /^(\d{15})~(.+)\.json$/.exec(name);
  return match ? { readyAt: Number(match[1]), key: match[2] ?? "" } : undefined;
}

/** A lease: which consumer holds a message until when. */
export interface LeaseName {
  readonly key: string;
  readonly expiresAt: number;
  readonly ackWaitMs: number;
  readonly token: string;
}

/** The name of an in-flight ticket. */
export function leaseName(lease: LeaseName): string {
  return `${lease.key}~${Math.floor(lease.expiresAt)}~${lease.ackWaitMs}~${lease.token}`;
}

/** Parses an in-flight name; undefined for anything else. */
export function parseLeaseName(name: string): LeaseName | undefined {
  const match = /^(.+)~(\d+)~(\d+)~([0-9a-f]+)$/.exec(name);
  if (!match) return undefined;
  return { key: match[1] ?? "", expiresAt: Number(match[2]), ackWaitMs: Number(match[3]), token: match[4] ?? "" };
}

/** The file name of a message id. */
export function messageKey(id: string): string {
  return fileKey(id);
}

/** Reads a ticket; undefined when the file is gone. */
export function readTicket(path: string): Promise<Ticket | undefined> {
  return readJsonFile<Ticket>(path);
}

/**
 * Rewrites the ticket at `from` (which this process holds) and moves it to `to`:
 * the new content first replaces the held file, then one rename moves it, so a
 * crash in between leaves it in flight (taken again when its lease expires).
 */
export async function rewriteAndMove(from: string, ticket: Ticket, to: string): Promise<void> {
  await writeFileAtomic(from, JSON.stringify(ticket));
  await rename(from, to);
  await fsyncDir(dirname(to));
}

/** Where a ticket goes when it is made ready at `readyAt`. */
export function readyPath(paths: QueuePaths, ticket: Ticket, readyAt: number): string {
  return join(paths.ready, ticket.subject, readyName(messageKey(ticket.id), readyAt));
}

/** Where a ticket goes when it is dead-lettered. */
export function deadPath(paths: QueuePaths, id: string): string {
  return join(paths.dead, `${messageKey(id)}.json`);
}
