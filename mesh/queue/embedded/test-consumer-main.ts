/**
 * A worker process for the multi-process test (embedded-multiprocess.test.ts):
 * consumes one subject of the embedded backend in `dir` and reports each
 * delivery on stdout as a JSON line. A message whose data is "hang" never
 * settles on its first attempt (the test kills this process then).
 *
 * Usage: node --import tsx test-consumer-main.ts <dir> <subject> <ackWaitMs>
 */
import { openEmbeddedBackend } from "./embedded-backend.js";

/** One line of this process's stdout. */
export interface ConsumerEvent {
  readonly pid: number;
  readonly event: "ready" | "start" | "done";
  readonly id?: string;
  readonly attempt?: number;
  readonly errors?: readonly string[];
}

async function main(): Promise<void> {
  const [dir, subject, ackWait] = process.argv.slice(2);
  if (!dir || !subject || !ackWait) throw new Error("usage: test-consumer-main.ts <dir> <subject> <ackWaitMs>");
  const say = (e: Omit<ConsumerEvent, "pid">): boolean => process.stdout.write(`${JSON.stringify({ pid: process.pid, ...e })}\n`);
  const backend = await openEmbeddedBackend(dir, { ackWaitMs: Number(ackWait), maxDeliveries: 3, backoffMs: [50] });
  const consumer = backend.queue.consume(
    subject,
    async (d) => {
      say({ event: "start", id: d.id, attempt: d.attempt, errors: d.errors });
      if (new TextDecoder().decode(d.data) === "hang" && d.attempt === 1) await new Promise<never>(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await d.ack();
      say({ event: "done", id: d.id, attempt: d.attempt, errors: d.errors });
    },
    // One at a time: a worker killed while holding the hanging message holds nothing else.
    { maxInFlight: 1 },
  );
  process.once("SIGTERM", () => {
    void consumer
      .stop()
      .then(() => backend.close())
      .then(() => process.exit(0));
  });
  say({ event: "ready" });
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
