/**
 * `TaskQueue` on NATS JetStream: a work-queue stream of task subjects, one durable
 * pull consumer per subject shared by every replica, explicit ack, dedup by
 * message id, and dead letters in a stream of their own (nats-streams.ts).
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { InvalidSubjectError, isValidSubject } from "../queue-errors.js";
import type { ConsumeOptions, DeadLetter, Delivery, QueueConsumer, QueueMessage, QueueSettings, TaskQueue } from "../queue-types.js";
import { startNatsConsumer } from "./nats-consumer.js";
import { messageHeaders, readDeadLetters, redriveDeadLetter } from "./nats-dead-letters.js";
import { resolveQueueSettings } from "../queue-settings.js";
import { resolveNatsStorage } from "./nats-storage.js";
import type { NatsStorageSettings } from "./nats-storage.js";
import { ensureQueueStreams, taskStream, taskSubject } from "./nats-streams.js";

/** Options of {@link openNatsQueue}. */
export interface NatsQueueOptions {
  /** Ack wait, deliveries and back-off; defaults as in `QueueSettings`. */
  readonly settings?: QueueSettings;
  /** Failures of a consumer's pull loop (it retries them); default: dropped. */
  readonly onError?: (err: unknown) => void;
  /** Replicas and limits of the streams; defaults as in nats-storage.ts. */
  readonly storage?: NatsStorageSettings;
}

/**
 * Opens the task queue on connection `nc` (which stays the caller's to close),
 * creating its streams unless they exist (safe when several processes open it at
 * once) and bringing existing ones towards the replicas and limits of `options.storage`.
 * Throws `RangeError` for invalid settings, `QueueReplicasError` when the server
 * cannot place the replicas, and JetStream's error when the server has no JetStream.
 */
export async function openNatsQueue(nc: NatsConnection, options: NatsQueueOptions = {}): Promise<TaskQueue> {
  const settings = resolveQueueSettings(options.settings);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await ensureQueueStreams(jsm, resolveNatsStorage(options.storage));
  const consumers = new Set<QueueConsumer>();
  const deps = { nc, js, jsm, settings, ...(options.onError === undefined ? {} : { onError: options.onError }) };

  const checkSubject = (subject: string) => {
    if (!isValidSubject(subject)) throw new InvalidSubjectError(subject);
  };

  return {
    async enqueue(message: QueueMessage) {
      checkSubject(message.subject);
      const ack = await js.publish(taskSubject(message.subject), message.data, { msgID: message.id, headers: messageHeaders(message.id, message.headers) });
      return { duplicate: ack.duplicate };
    },

    consume(subject: string, handler: (delivery: Delivery) => Promise<void>, consumeOptions: ConsumeOptions = {}) {
      checkSubject(subject);
      const maxInFlight = consumeOptions.maxInFlight ?? 1;
      if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1)) throw new RangeError(`maxInFlight must be an integer of at least 1, got ${maxInFlight}`);
      const consumer = startNatsConsumer(deps, subject, handler, maxInFlight);
      const tracked: QueueConsumer = {
        async stop() {
          consumers.delete(tracked);
          await consumer.stop();
        },
      };
      consumers.add(tracked);
      return tracked;
    },

    async depth(subject?: string) {
      if (subject === undefined) return (await jsm.streams.info(taskStream)).state.messages;
      checkSubject(subject);
      const info = await jsm.streams.info(taskStream, { subjects_filter: taskSubject(subject) });
      return info.state.subjects?.[taskSubject(subject)] ?? 0;
    },

    deadLetters(subject?: string): Promise<DeadLetter[]> {
      if (subject !== undefined) checkSubject(subject);
      return readDeadLetters(js, jsm, subject);
    },

    redrive(id: string, data?: Uint8Array) {
      return redriveDeadLetter(js, jsm, id, data);
    },

    async close() {
      await Promise.all([...consumers].map((c) => c.stop()));
    },
  };
}
