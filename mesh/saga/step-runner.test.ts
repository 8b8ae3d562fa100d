import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { createGrpcClient } from "../client/grpc-client.js";
import { ResultSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { meshError } from "../errors.js";
import { createGatewayStepCanceller, createGatewayStepRunner, stepOutcomeOf, stepOutcomeOfError } from "./step-runner.js";

const result = (state: TaskState, error?: { code: string; reason: string; message: string; retryable: boolean }) =>
  create(ResultSchema, { taskId: "s.a.do", state, agent: "budgeter", outputs: { ok: true }, ...(error === undefined ? {} : { error }) });

describe("stepOutcomeOf", () => {
  it.each([
    ["a completed task", result(TaskState.COMPLETED), { kind: "completed", agent: "budgeter", outputs: { ok: true } }],
    ["a retryable failure", result(TaskState.FAILED, { code: "unavailable", reason: "interrupted", message: "stopped", retryable: true }), { kind: "retry", message: "stopped" }],
    ["a failure for good", result(TaskState.FAILED, { code: "failed_precondition", reason: "slot_taken", message: "taken", retryable: false }),
      { kind: "failed", error: { code: "failed_precondition", reason: "slot_taken", message: "taken" } }],
    ["a denied approval", result(TaskState.REJECTED, { code: "permission_denied", reason: "approval_denied", message: "denied by erin: no", retryable: false }),
      { kind: "failed", error: { code: "permission_denied", reason: "approval_denied", message: "denied by erin: no" } }],
    ["a canceled task without an error", result(TaskState.CANCELED), { kind: "failed", error: { code: "canceled", reason: "", message: "the task ended canceled" } }],
    ["a task still held", result(TaskState.AWAITING_APPROVAL), { kind: "waiting", state: "awaiting_approval" }],
  ])("maps %s", (_name, r, outcome) => {
    expect(stepOutcomeOf(r)).toEqual(outcome);
  });
});

describe("stepOutcomeOfError", () => {
  it.each([
    ["UNAVAILABLE", meshError(Code.Unavailable, "no live worker", { reason: "no_worker" }), { kind: "retry", message: "unavailable: no live worker" }],
    ["RESOURCE_EXHAUSTED", meshError(Code.ResourceExhausted, "quota", { reason: "quota_exceeded" }), { kind: "retry", message: "resource_exhausted: quota" }],
    ["an intent no agent offers yet", meshError(Code.InvalidArgument, "unknown intent", { reason: "unknown_intent" }), { kind: "retry", message: "invalid_argument: unknown intent" }],
    ["a policy refusal", meshError(Code.PermissionDenied, "lacks scope", { reason: "scope_missing" }), { kind: "failed", error: { code: "permission_denied", reason: "scope_missing", message: "lacks scope" } }],
    ["an error without detail", new ConnectError("bad", Code.InvalidArgument), { kind: "failed", error: { code: "invalid_argument", reason: "", message: "bad" } }],
  ])("maps %s", (_name, err, outcome) => {
    expect(stepOutcomeOfError(err)).toEqual(outcome);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("createGatewayStepRunner", () => {
  const delegation = { sagaId: "s", taskId: "s.a.do", intent: "budget.reserve", inputs: {} };

  it("tries a gateway it cannot reach again in place, then answers retry", async () => {
    const gateway = createGrpcClient(`127.0.0.1:${await closedPort()}`);
    try {
      const started = Date.now();
      const outcome = await createGatewayStepRunner({ gateway, token: () => Promise.resolve("t"), unavailableRetryMs: 1_000 })(delegation, new AbortController().signal);
      expect(outcome).toEqual({ kind: "retry", message: "unavailable: the service at this hop could not be reached" });
      // Tried at 0, after 250 ms and after 500 ms more; the next pause (1 s) would pass the 1 s budget.
      expect(Date.now() - started).toBeGreaterThanOrEqual(250 + 500);
    } finally {
      gateway.close();
    }
  });

  it("stops trying when its signal aborts", async () => {
    const gateway = createGrpcClient(`127.0.0.1:${await closedPort()}`);
    try {
      const stop = new AbortController();
      setTimeout(() => stop.abort(meshError(Code.Canceled, "the coordinator is stopping", { reason: "stopping" })), 300);
      await expect(createGatewayStepRunner({ gateway, token: () => Promise.resolve("t") })(delegation, stop.signal)).rejects.toThrow("the coordinator is stopping");
    } finally {
      gateway.close();
    }
  });
});

describe("createGatewayStepCanceller", () => {
  it("answers retry (outcome still unknown) when the Cancel cannot reach the gateway", async () => {
    const gateway = createGrpcClient(`127.0.0.1:${await closedPort()}`);
    try {
      const outcome = await createGatewayStepCanceller({ gateway, token: () => Promise.resolve("t"), waitMs: 1_000 })({ sagaId: "s", taskId: "s.a.do" }, "gave up", new AbortController().signal);
      expect(outcome).toEqual({ kind: "retry", message: "its Cancel failed with unavailable: the service at this hop could not be reached" });
    } finally {
      gateway.close();
    }
  });
});
