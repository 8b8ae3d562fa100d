/**
 * Test fixture: a fresh nats-server per test (test/support/nats-server.ts) and
 * the NATS backends a test opened on it, all closed after the test.
 */
import { afterEach, beforeEach } from "vitest";
import { startNatsServer } from "../../../test/support/nats-server.js";
import type { TestNatsServer } from "../../../test/support/nats-server.js";
import type { QueueBackend, QueueSettings } from "../queue-types.js";
import { openNatsBackend } from "./nats-backend.js";

/** Registers the fixture's hooks in the calling `describe`; `open` uses `defaults` unless given settings. */
export function useNatsBackends(defaults?: QueueSettings): { server: () => TestNatsServer; open: (settings?: QueueSettings) => Promise<QueueBackend> } {
  let server: TestNatsServer | undefined;
  const backends: QueueBackend[] = [];
  beforeEach(async () => {
    server = await startNatsServer();
  });
  afterEach(async () => {
    await Promise.allSettled(backends.splice(0).map((b) => b.close()));
    await server?.stop();
  });
  return {
    server: () => server!,
    async open(settings = defaults) {
      const backend = await openNatsBackend(server!.url, settings);
      backends.push(backend);
      return backend;
    },
  };
}
