/**
 * The shared conformance suite against the NATS JetStream adapter: one real
 * nats-server for the whole file; every `open()` is a new connection to it (the
 * same streams and buckets), as the suite requires.
 */
import { afterAll, beforeAll } from "vitest";
import { startNatsServer } from "../../../test/support/nats-server.js";
import type { TestNatsServer } from "../../../test/support/nats-server.js";
import { describeQueueBackendConformance } from "../conformance.js";
import { openNatsBackend } from "./nats-backend.js";

let server: TestNatsServer | undefined;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

describeQueueBackendConformance("nats", (settings) => {
  if (server === undefined) throw new Error("nats-server did not start");
  return openNatsBackend(server.url, settings);
});
