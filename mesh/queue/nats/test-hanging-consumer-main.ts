/**
 * Test fixture, run as its own process by nats-queue.test.ts: opens the NATS
 * backend at argv[2] (ack wait argv[4] ms, deliveries argv[5]), consumes subject
 * argv[3] with a handler that prints "taken <id> <attempt>" and never settles, so
 * the test can SIGKILL this process mid-delivery (a consumer that died).
 */
import { openNatsBackend } from "./nats-backend.js";

const [url, subject, ackWaitMs, maxDeliveries] = process.argv.slice(2);
if (url === undefined || subject === undefined) throw new Error("usage: test-hanging-consumer-main.ts <url> <subject> [ackWaitMs] [maxDeliveries]");
const backend = await openNatsBackend(url, { ackWaitMs: Number(ackWaitMs ?? 1_000), maxDeliveries: Number(maxDeliveries ?? 3), backoffMs: [50] });
backend.queue.consume(subject, async (delivery) => {
  process.stdout.write(`taken ${delivery.id} ${delivery.attempt}\n`);
  await new Promise(() => undefined);
});
