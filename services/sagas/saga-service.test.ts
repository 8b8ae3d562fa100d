/**
 * SagaService over a real embedded backend: who may read a saga.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GetSagaRequestSchema } from "../../gen/agentmesh/v1/saga_pb.js";
import { callerKey, createLogger, createSagaStore, createSchemaValidator, errorDetailOf, newSagaState } from "../../mesh/index.js";
import { openEmbeddedBackend } from "../../mesh/queue/embedded/embedded-backend.js";
import type { Role } from "../../mesh/index.js";
import type { QueueBackend } from "../../mesh/queue/queue-types.js";
import { campaignLaunchSaga } from "./campaign-launch-saga.js";
import { createSagaServiceImpl } from "./saga-service.js";

let dir: string;
let backend: QueueBackend;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "saga-service-"));
  backend = await openEmbeddedBackend(dir, { pollIntervalMs: 10 });
});
afterEach(async () => {
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

/** GetSaga of `sagaId` as `subject` with `role`. */
async function getSaga(subject: string, role: Role, sagaId: string) {
  const store = createSagaStore(backend.store);
  const impl = createSagaServiceImpl({
    store, queue: backend.queue, definitions: new Map([[campaignLaunchSaga.name, campaignLaunchSaga]]), schemas: createSchemaValidator(), authorize: () => undefined, logger: createLogger("test", "error"),
  });
  const values = createContextValues().set(callerKey, { subject, role, expiresAt: Date.now() / 1000 + 600 });
  return (impl.getSaga as (req: unknown, call: unknown) => Promise<{ saga?: { sagaId: string; startedBy: string } }>)(create(GetSagaRequestSchema, { sagaId }), { values });
}

describe("SagaService.GetSaga", () => {
  it("shows a saga to its starter and to an auditor, and refuses any other caller with not_saga_owner", async () => {
    await createSagaStore(backend.store).create(newSagaState(campaignLaunchSaga, "launch-1", { campaign: "spring" }, "alice", new Date().toISOString()));
    expect((await getSaga("alice", "supervisor", "launch-1")).saga?.startedBy).toBe("alice");
    expect((await getSaga("audrey", "auditor", "launch-1")).saga?.sagaId).toBe("launch-1");
    const refused = await getSaga("mallory", "supervisor", "launch-1").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect([(refused as ConnectError).code, errorDetailOf(refused as ConnectError)?.reason]).toEqual([Code.PermissionDenied, "not_saga_owner"]);
  });
});
