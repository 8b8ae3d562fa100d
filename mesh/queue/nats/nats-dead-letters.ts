/**
 * Dead letters and attempt records of the NATS task queue, as JetStream
 * messages: how a dead letter is written, read back and redriven, and where the
 * reasons of earlier attempts wait between deliveries (a nak cannot change a
 * message's headers, so they live in `AGENTMESH_ATTEMPTS`, keyed by the task
 * stream sequence, and are cleared when the message is acked or dead-lettered).
 */
import type { JetStreamClient, JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { MsgHdrs } from "@nats-io/transport-node";
import type { DeadLetter } from "../queue-types.js";
import { attemptStream, attemptSubject, deadLetterStream, deadLetterSubject, taskSubject } from "./nats-streams.js";

/** Our own headers; the contract's headers are lowercase, so they never clash with these. */
export const idHeader = "Agentmesh-Id";
const subjectHeader = "Agentmesh-Subject";
const attemptsHeader = "Agentmesh-Attempts";
const errorsHeader = "Agentmesh-Errors";
const deadAtHeader = "Agentmesh-Dead-At";

/** The message's own headers: everything but JetStream's (`Nats-*`) and ours (`Agentmesh-*`). */
export function userHeaders(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  for (const key of h.keys()) {
    if (key.startsWith("Nats-") || key.startsWith("Agentmesh-")) continue;
    out[key] = h.get(key);
  }
  return out;
}

/** Headers holding `user` plus our id header. */
export function messageHeaders(id: string, user: Readonly<Record<string, string>> | undefined): MsgHdrs {
  const h = natsHeaders();
  for (const [key, value] of Object.entries(user ?? {})) h.set(key, value);
  h.set(idHeader, id);
  return h;
}

/** JSON with every non-ASCII character escaped, so any reason fits a header value. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** What {@link publishDeadLetter} records. */
export interface DeadLetterRecord extends Omit<DeadLetter, "deadAt"> {
  /** The task stream sequence of the message: dedups a dead letter written twice (a crash between writing it and acking). */
  readonly taskSeq: number;
}

/** Writes a dead letter durably (original data and headers, attempt count, every reason). */
export async function publishDeadLetter(js: JetStreamClient, record: DeadLetterRecord): Promise<void> {
  const h = messageHeaders(record.id, record.headers);
  h.set(subjectHeader, record.subject);
  h.set(attemptsHeader, String(record.attempts));
  h.set(errorsHeader, asciiJson(record.errors));
  h.set(deadAtHeader, String(Date.now()));
  await js.publish(deadLetterSubject(record.id), record.data, { headers: h, msgID: `dead-${record.taskSeq}` });
}

/** The dead letter a stored DLQ message holds. */
export function toDeadLetter(m: StoredMsg | { headers: MsgHdrs | undefined; data: Uint8Array }): DeadLetter {
  const h = "header" in m ? m.header : m.headers;
  const get = (key: string) => h?.get(key) ?? "";
  return {
    id: get(idHeader),
    subject: get(subjectHeader),
    data: new Uint8Array(m.data),
    headers: userHeaders(h),
    attempts: Number(get(attemptsHeader)),
    errors: JSON.parse(get(errorsHeader) || "[]") as string[],
    deadAt: Number(get(deadAtHeader)),
  };
}

/** Every dead letter, oldest first (of queue subject `subject` when set). */
export async function readDeadLetters(js: JetStreamClient, jsm: JetStreamManager, subject?: string): Promise<DeadLetter[]> {
  const count = (await jsm.streams.info(deadLetterStream)).state.messages;
  if (count === 0) return [];
  const out: DeadLetter[] = [];
  // An ordered consumer reads the stream once; a message removed meanwhile (a redrive)
  // only shortens the read, which then ends when the fetch expires.
  const reader = await js.consumers.get(deadLetterStream);
  const messages = await reader.fetch({ max_messages: count, expires: 2_000 });
  for await (const m of messages) {
    const letter = toDeadLetter(m);
    if (subject === undefined || letter.subject === subject) out.push(letter);
    if (m.info.pending === 0) break;
  }
  await reader.delete().catch(() => undefined);
  return out;
}

/**
 * Puts the dead letter of `id` back on its queue as a new message (attempts count
 * from 1 again; body `data` instead of the old one when given) and removes it from
 * the dead letters; false when there is none.
 * The new message's `Nats-Msg-Id` names the dead letter, so a redrive repeated
 * after a failure does not enqueue it twice.
 */
export async function redriveDeadLetter(js: JetStreamClient, jsm: JetStreamManager, id: string, data?: Uint8Array): Promise<boolean> {
  const stored = await jsm.streams.getMessage(deadLetterStream, { last_by_subj: deadLetterSubject(id) });
  if (stored === null) return false;
  const letter = toDeadLetter(stored);
  await js.publish(taskSubject(letter.subject), data ?? letter.data, { headers: messageHeaders(letter.id, letter.headers), msgID: `redrive-${stored.seq}` });
  try {
    await jsm.streams.deleteMessage(deadLetterStream, stored.seq);
  } catch {
    // Another process redrove it at the same time: its publish was absorbed as a duplicate.
  }
  return true;
}

/** The reasons recorded for earlier attempts of task stream message `seq`, oldest first. */
export async function readAttemptErrors(jsm: JetStreamManager, seq: number): Promise<string[]> {
  const stored = await jsm.streams.getMessage(attemptStream, { last_by_subj: attemptSubject(seq) });
  return stored === null ? [] : (stored.json<{ errors: string[] }>().errors ?? []);
}

/** Records the reasons of the attempts so far (replaces the earlier record). */
export async function writeAttemptErrors(js: JetStreamClient, seq: number, errors: readonly string[]): Promise<void> {
  await js.publish(attemptSubject(seq), JSON.stringify({ errors }));
}

/** Removes the record of task stream message `seq` (best effort: a left-over record is small and harmless). */
export async function clearAttemptErrors(jsm: JetStreamManager, seq: number): Promise<void> {
  await jsm.streams.purge(attemptStream, { filter: attemptSubject(seq) }).catch(() => undefined);
}
