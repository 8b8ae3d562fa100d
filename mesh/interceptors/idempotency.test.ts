import { create } from "@bufbuild/protobuf";
import { Code, createContextValues } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { DelegateRequestSchema, DelegateResponseSchema, DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { meshCall } from "../../test/support/mesh-call.js";
import type { Identity } from "../auth/identity.js";
import { callerKey } from "../context-keys.js";
import { taskDeadlineExceeded } from "../errors.js";
import { createTaskStore } from "../tasks/task-store.js";
import { createIdempotencyInterceptor } from "./idempotency.js";

/** One Delegate through the idempotency step as `caller`; returns the options the store's `finish` got. */
async function finishOptions(caller: Identity): Promise<unknown> {
  const store = createTaskStore();
  const finish = vi.spyOn(store, "finish");
  const values = createContextValues();
  values.set(callerKey, caller);
  const step = createIdempotencyInterceptor(store, "worker-a")(() =>
    Promise.resolve(create(DelegateResponseSchema, { result: { taskId: "t-1", state: TaskState.COMPLETED } })));
  await step(meshCall(DelegationService.method.delegate, create(DelegateRequestSchema, { taskId: "t-1", intent: "test.echo" }), values));
  expect(finish).toHaveBeenCalledTimes(1);
  return finish.mock.calls[0]![2];
}

describe("createIdempotencyInterceptor", () => {
  it("records the outcome with the store's default (synced) for a caller of its own and for one the gateway forwarded", async () => {
    expect(await finishOptions({ subject: "alice", role: "supervisor", expiresAt: 4_102_444_800 })).toBeUndefined();
    expect(await finishOptions({ subject: "alice", role: "supervisor", expiresAt: 4_102_444_800, via: "gateway" })).toBeUndefined();
  });

  it("runs the task again for a joined call when the execution it joined let the task go at its own deadline", async () => {
    const store = createTaskStore();
    const values = () => {
      const v = createContextValues();
      v.set(callerKey, { subject: "alice", role: "supervisor", expiresAt: 4_102_444_800 });
      return v;
    };
    let runs = 0;
    const step = createIdempotencyInterceptor(store, "worker-a")(async () => {
      runs++;
      if (runs === 1) {
        // The first attempt stops at its deadline a moment after its caller gave up.
        await new Promise((r) => setTimeout(r, 80));
        throw taskDeadlineExceeded();
      }
      return create(DelegateResponseSchema, { result: { taskId: "t-1", state: TaskState.COMPLETED } });
    });
    const req = create(DelegateRequestSchema, { taskId: "t-1", intent: "test.sleep" });
    const first = step({ ...meshCall(DelegationService.method.delegate, req, values()), deadline: Date.now() + 40 });
    await expect(first).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    // The retry, without a deadline, arrives while the first attempt still holds the task.
    const retry = (await step(meshCall(DelegationService.method.delegate, req, values()))) as { result: { state: TaskState } };
    expect([retry.result.state, runs]).toEqual([TaskState.COMPLETED, 2]);
  });
});
