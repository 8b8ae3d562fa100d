import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ResultSchema, TaskEventSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { recordingLogger } from "../../test/support/mesh-call.js";
import { rejection } from "../../test/support/rejection.js";
import type { GrpcClient } from "../client/grpc-client.js";
import { errorDetailOf, meshError } from "../errors.js";
import { abortedByCancel, cancelSubTask, followSubTask } from "./follow-sub-task.js";

const result = (state: TaskState) => create(ResultSchema, { taskId: "job-1.publish", intent: "content.publish", state });

/**
 * A scripted stand-in for the gateway's client: WatchResult yields `events` and
 * then ends, or fails with `failure`; Cancel fails with `failure`. It scripts what
 * a real gateway does only while it shuts down or loses its connection (the
 * integration tests in test/sub-delegation.test.ts cover the rest).
 */
function scriptedGateway(events: TaskState[], failure?: ConnectError): GrpcClient & { readonly calls: string[] } {
  const calls: string[] = [];
  return {
    address: "scripted",
    calls,
    unary(method, request) {
      calls.push(`${method.name} ${JSON.stringify(request)}`);
      return failure === undefined ? Promise.resolve({} as never) : Promise.reject(failure);
    },
    async *serverStream(method, request) {
      calls.push(`${method.name} ${JSON.stringify(request)}`);
      for (const state of events) {
        await Promise.resolve();
        yield create(TaskEventSchema, { taskId: "job-1.publish", state, result: result(state) }) as never;
      }
      if (failure !== undefined) throw failure;
    },
    close: () => undefined,
  };
}

const follow = (gateway: GrpcClient, signal = new AbortController().signal) =>
  followSubTask(gateway, result(TaskState.AWAITING_APPROVAL), { metadata: {}, signal, deadline: undefined });

describe("followSubTask", () => {
  it("resolves to the first terminal result the watch reports", async () => {
    const gateway = scriptedGateway([TaskState.AWAITING_APPROVAL, TaskState.WORKING, TaskState.COMPLETED, TaskState.FAILED]);
    expect((await follow(gateway)).state).toBe(TaskState.COMPLETED);
    expect(gateway.calls).toEqual(['WatchResult {"taskId":"job-1.publish"}']);
  });

  it("throws UNAVAILABLE watch_ended, a failure a retry of the parent may fix, when the watch ends first", async () => {
    const err = await rejection(follow(scriptedGateway([TaskState.AWAITING_APPROVAL])));
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([
      Code.Unavailable, "the watch of sub-task job-1.publish ended while it was awaiting_approval; retry with the same task id", "watch_ended",
    ]);
  });

  it("throws the parent's own outcome once its signal aborted, not the watch's", async () => {
    const parent = new AbortController();
    parent.abort(meshError(Code.Canceled, "task canceled", { reason: "canceled" }));
    const err = await rejection(follow(scriptedGateway([], new ConnectError("the call was canceled", Code.Canceled)), parent.signal));
    expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.Canceled, "canceled"]);
  });

  it("turns a transport deadline into the task's deadline_exceeded", async () => {
    const err = await rejection(follow(scriptedGateway([], new ConnectError("deadline exceeded before the hop answered", Code.DeadlineExceeded))));
    expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.DeadlineExceeded, "deadline_exceeded"]);
  });

  it("passes on what the gateway answered", async () => {
    const err = await rejection(follow(scriptedGateway([], meshError(Code.PermissionDenied, "task job-1.publish was delegated by another caller", { reason: "not_task_owner" }))));
    expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.PermissionDenied, "not_task_owner"]);
  });
});

describe("cancelSubTask", () => {
  it("sends Cancel with the reason, and logs a failure instead of throwing it", async () => {
    const logger = recordingLogger();
    const gateway = scriptedGateway([], new ConnectError("the service at this hop could not be reached", Code.Unavailable));
    await cancelSubTask(gateway, "job-1.publish", "parent task job-1 was canceled", () => Promise.resolve({}), logger);
    expect([gateway.calls, logger.lines.map((l) => [l.level, l.msg, l.fields])]).toEqual([
      ['Cancel {"taskId":"job-1.publish","reason":"parent task job-1 was canceled"}'],
      [["warn", "could not cancel the sub-task", { task_id: "job-1.publish", error: "the service at this hop could not be reached" }]],
    ]);
  });
});

describe("abortedByCancel", () => {
  it.each<[string, AbortSignal, boolean]>([
    ["a cancellation", AbortSignal.abort(meshError(Code.Canceled, "task canceled", { reason: "canceled" })), true],
    ["a deadline", AbortSignal.abort(meshError(Code.DeadlineExceeded, "the task's deadline passed", { reason: "deadline_exceeded" })), false],
    ["nothing yet", new AbortController().signal, false],
  ])("tells %s apart", (_name, signal, expected) => {
    expect(abortedByCancel(signal)).toBe(expected);
  });
});
