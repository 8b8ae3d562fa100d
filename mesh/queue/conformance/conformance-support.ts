/**
 * What the parts of the queue conformance suite share: settings, byte helpers,
 * polling, and the context `describeQueueBackendConformance` hands each part.
 */
import type { Delivery, QueueBackend, QueueConsumer, QueueSettings } from "../queue-types.js";

/** Opens a backend on the suite's shared backing store with these settings (adapter defaults when unset). */
export type OpenQueueBackend = (settings?: QueueSettings) => Promise<QueueBackend>;

/** What every part of the suite gets; backends and consumers made through it are closed after each test. */
export interface ConformanceContext {
  /** A random token of this run, in every id, key and subject the suite uses. */
  readonly run: string;
  /** A subject no other test (or run) uses. */
  readonly subject: (label: string) => string;
  /** Opens a backend (untracked: the test closes it). */
  readonly open: OpenQueueBackend;
  /** Opens a backend that is closed after the test; settings default to `fast`. */
  readonly openTracked: (settings?: QueueSettings) => Promise<QueueBackend>;
  /** Starts a consumer that is stopped after the test. */
  readonly consume: (backend: QueueBackend, subject: string, handler: (d: Delivery) => Promise<void>, maxInFlight?: number) => QueueConsumer;
}

/** The settings most tests run with: small enough for a fast suite, large enough for a loaded 2-core machine. */
export const fast: QueueSettings = { ackWaitMs: 1000, maxDeliveries: 3, backoffMs: [100] };

const text = new TextEncoder();
const untext = new TextDecoder();

/** UTF-8 bytes of a string. */
export const bytes = (s: string): Uint8Array => text.encode(s);

/** The string of UTF-8 bytes; undefined stays undefined. */
export const str = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : untext.decode(b));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 20 ms until it holds; throws after `timeoutMs` (default 5 s). */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A delivery as plain values, for whole-object assertions. */
export interface SeenDelivery {
  id: string;
  subject: string;
  data: string | undefined;
  headers: Record<string, string>;
  attempt: number;
  errors: string[];
}

/** The plain values of a delivery. */
export function seen(d: Delivery): SeenDelivery {
  return { id: d.id, subject: d.subject, data: str(d.data), headers: { ...d.headers }, attempt: d.attempt, errors: [...d.errors] };
}
