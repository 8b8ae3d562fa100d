/**
 * One running consumer of a NATS task queue subject: a loop that pulls at most as
 * many messages as it has free handler slots (so no message waits in a client
 * buffer while its ack wait runs out), turns each into a `Delivery`, and settles it.
 *
 * Attempts are counted from JetStream's delivery count, but delivery is never
 * stopped by JetStream (`max_deliver` unlimited): a consumer that dies during the
 * last allowed attempt would leave the message stuck. Instead a delivery that
 * arrives with attempt > maxDeliveries is dead-lettered here, and so is a nak of
 * the last allowed attempt.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiError } from "@nats-io/jetstream";
import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { NatsConnection, Status } from "@nats-io/transport-node";
import { consumerLostReason } from "../queue-errors.js";
import type { Delivery, QueueConsumer } from "../queue-types.js";
import { clearAttemptErrors, idHeader, publishDeadLetter, readAttemptErrors, userHeaders, writeAttemptErrors } from "./nats-dead-letters.js";
import type { ResolvedQueueSettings } from "../queue-settings.js";
import { durableName, queueSubjectOf, taskStream, taskSubject } from "./nats-streams.js";

/** What a consumer needs from its queue. */
export interface NatsConsumerDeps {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly settings: ResolvedQueueSettings;
  /** Where failures of the loop itself go (the handler's own errors nak the delivery); default: dropped. */
  readonly onError?: (err: unknown) => void;
}

/** How long one pull waits for messages before the loop asks again. */
const pullExpiresMs = 5_000;
/** Pause after a failed pull (e.g. the server is restarting) before the next. */
const retryDelayMs = 250;

/**
 * Creates (or updates) the durable pull consumer of `subject`: one per subject,
 * shared by every replica so that they compete. Explicit ack, ack wait from the
 * settings, no JetStream delivery limit (see the module comment).
 */
export async function ensureDurableConsumer(jsm: JetStreamManager, subject: string, ackWaitMs: number): Promise<string> {
  const name = durableName(subject);
  const config = {
    durable_name: name,
    filter_subject: taskSubject(subject),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_deliver: -1,
  };
  try {
    await jsm.consumers.add(taskStream, config);
  } catch (err) {
    if (!(err instanceof JetStreamApiError)) throw err;
    // It exists with another ack wait (another process's settings): the latest opener's wins.
    await jsm.consumers.update(taskStream, name, { ack_wait: config.ack_wait, max_deliver: -1 });
  }
  return name;
}

/**
 * Starts consuming `subject` with at most `maxInFlight` handlers at once; see
 * `TaskQueue.consume`. Failures to pull (server away) are retried every 250 ms.
 */
export function startNatsConsumer(deps: NatsConsumerDeps, subject: string, handler: (delivery: Delivery) => Promise<void>, maxInFlight: number): QueueConsumer {
  const running = new Set<Promise<void>>();
  let stopping = false;
  let current: ConsumerMessages | undefined;
  let slotFreed: (() => void) | undefined;

  const loop = async () => {
    let consumer: Consumer | undefined;
    while (!stopping) {
      try {
        if (running.size >= maxInFlight) {
          await new Promise<void>((resolve) => (slotFreed = resolve));
          continue;
        }
        consumer ??= await deps.js.consumers.get(taskStream, await ensureDurableConsumer(deps.jsm, subject, deps.settings.ackWaitMs));
        if (stopping) break;
        current = await consumer.fetch({ max_messages: maxInFlight - running.size, expires: pullExpiresMs });
        for await (const msg of current) {
          if (stopping) {
            // Pulled while stopping: hand it back at once rather than let its ack wait
            // run out. The delivery still counts, and shows as a lost attempt.
            msg.nak();
            continue;
          }
          const run = handle(deps, msg, handler).catch((err: unknown) => deps.onError?.(err));
          running.add(run);
          void run.finally(() => {
            running.delete(run);
            slotFreed?.();
            slotFreed = undefined;
          });
        }
      } catch (err) {
        consumer = undefined;
        if (stopping) break;
        deps.onError?.(err);
        await sleep(retryDelayMs);
      } finally {
        current = undefined;
      }
    }
  };
  const done = loop();
  // After a reconnect the pull in flight may be gone with the server that held it (a
  // restart): pull again at once instead of waiting for it to expire.
  // Typed as a plain AsyncIterable; the client's iterator also has stop(), which
  // removes the listener (a consumer stopped long before its connection closes).
  const status = deps.nc.status() as AsyncIterable<Status> & { stop(): void };
  void (async () => {
    for await (const s of status) if (s.type === "reconnect") await current?.close();
  })().catch((err: unknown) => deps.onError?.(err));

  return {
    async stop() {
      stopping = true;
      status.stop();
      slotFreed?.();
      await current?.close();
      await done;
      await Promise.allSettled([...running]);
    },
  };
}

/** Runs one delivery: dead-letters it when it has no attempts left, else calls the handler. */
async function handle(deps: NatsConsumerDeps, msg: JsMsg, handler: (delivery: Delivery) => Promise<void>): Promise<void> {
  const { settings } = deps;
  const attempt = msg.info.deliveryCount;
  const seq = msg.seq;
  // Reasons are written only by a nak, so a first delivery has none to read.
  const errors = attempt > 1 ? await readAttemptErrors(deps.jsm, seq) : [];
  // Attempts that left no reason were never settled: their consumer died or hung.
  while (errors.length < attempt - 1) errors.push(consumerLostReason(settings.ackWaitMs));
  const base = {
    id: msg.headers?.get(idHeader) || (msg.headers?.get("Nats-Msg-Id") ?? ""),
    subject: queueSubjectOf(msg.subject),
    // A plain Uint8Array of its own (the client hands out Buffer views).
    data: new Uint8Array(msg.data),
    headers: userHeaders(msg.headers),
  };

  const deadLetter = async (attempts: number, reasons: readonly string[]) => {
    await publishDeadLetter(deps.js, { ...base, attempts, errors: reasons, taskSeq: seq });
    await msg.ackAck();
    await clearAttemptErrors(deps.jsm, seq);
  };

  if (attempt > settings.maxDeliveries) {
    await deadLetter(attempt - 1, errors.slice(0, attempt - 1));
    return;
  }

  let settled = false;
  // Later settle calls are no-ops: the first one decides.
  const settle = async (work: () => Promise<void>) => {
    if (settled) return;
    settled = true;
    await work();
  };
  const nak = (reason: string, delayMs?: number) =>
    settle(async () => {
      const reasons = [...errors, reason];
      if (attempt >= settings.maxDeliveries) return deadLetter(attempt, reasons);
      // The reason is written before the nak: should this process die between the
      // two, the redelivery (after the ack wait) still finds it.
      await writeAttemptErrors(deps.js, seq, reasons);
      msg.nak(delayMs ?? settings.backoffFor(attempt));
      await deps.nc.flush();
    });
  const delivery: Delivery = {
    ...base,
    attempt,
    errors: [...errors],
    ack: () =>
      settle(async () => {
        await msg.ackAck();
        if (attempt > 1) await clearAttemptErrors(deps.jsm, seq);
      }),
    nak,
    term: (reason) => settle(() => deadLetter(attempt, [...errors, reason])),
    async working() {
      if (settled) return;
      msg.working();
      await deps.nc.flush();
    },
  };
  try {
    await handler(delivery);
  } catch (err) {
    await nak(err instanceof Error ? err.message : String(err));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
