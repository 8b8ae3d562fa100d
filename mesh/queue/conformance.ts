/**
 * The one conformance suite of the queue contracts (queue-types.ts), run unchanged
 * against every adapter: `describeQueueBackendConformance("embedded", open)`.
 *
 * `open(settings)` must open a backend on the SAME backing store every time it is
 * called (the same directory, the same NATS server and stream names), so that
 * durability across close/reopen and cross-instance behaviour (competing
 * consumers, a consumer that died, KV watch) can be tested. Tests keep apart by
 * unique subjects, ids, keys and prefixes (a random run token), so the store may
 * hold data from earlier tests and earlier runs.
 *
 * Timing: ack wait 1 s, back-off 100–300 ms; the suite takes a few seconds per
 * adapter. A consumer that dies is simulated by a handler that never settles and a
 * consumer that is stopped, its message then taken by a second backend instance.
 *
 * Test-only: imports vitest, so it is not part of the folder's public API.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe } from "vitest";
import type { QueueBackend, QueueConsumer, QueueSettings } from "./queue-types.js";
import { describeArtifactConformance } from "./conformance/artifact-conformance.js";
import type { ConformanceContext, OpenQueueBackend } from "./conformance/conformance-support.js";
import { fast } from "./conformance/conformance-support.js";
import { describeKvConformance } from "./conformance/kv-conformance.js";
import { describeQueueDeliveryConformance } from "./conformance/queue-delivery-conformance.js";
import { describeQueueManagementConformance } from "./conformance/queue-management-conformance.js";

export type { OpenQueueBackend } from "./conformance/conformance-support.js";

/**
 * Declares the conformance suite of a queue backend adapter.
 *
 * @param name adapter name, shown in the suite title
 * @param open opens a backend on one shared backing store (see the file comment)
 */
export function describeQueueBackendConformance(name: string, open: OpenQueueBackend): void {
  describe(`queue backend conformance: ${name}`, () => {
    const run = randomBytes(4).toString("hex");
    let counter = 0;
    const backends: QueueBackend[] = [];
    const consumers: QueueConsumer[] = [];
    const ctx: ConformanceContext = {
      run,
      subject: (label) => `conf.${run}.${label}.${++counter}`,
      open,
      openTracked: async (settings: QueueSettings = fast) => {
        const backend = await open(settings);
        backends.push(backend);
        return backend;
      },
      consume: (backend, subject, handler, maxInFlight) => {
        const consumer = backend.queue.consume(subject, handler, maxInFlight === undefined ? undefined : { maxInFlight });
        consumers.push(consumer);
        return consumer;
      },
    };

    afterEach(async () => {
      for (const c of consumers.splice(0)) await c.stop();
      for (const b of backends.splice(0)) await b.close();
    });

    describeQueueDeliveryConformance(ctx);
    describeQueueManagementConformance(ctx);
    describeKvConformance(ctx);
    describeArtifactConformance(ctx);
  });
}
