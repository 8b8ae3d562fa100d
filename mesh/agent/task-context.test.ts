/**
 * `ctx.tool` of a task context, on a real tracer: a declared tool runs in a span
 * under the task's span and counts toward the task's tool calls; an undeclared
 * one is refused before it runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import type { Span } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DelegateRequestSchema, DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import { meshCall, recordingLogger } from "../../test/support/mesh-call.js";
import { emptyChain } from "../chain/delegation-chain.js";
import { callerKey, chainKey } from "../context-keys.js";
import { errorDetailOf } from "../errors.js";
import { startTelemetry } from "../telemetry/start-telemetry.js";
import type { Telemetry } from "../telemetry/start-telemetry.js";
import { readTelemetryConfig } from "../telemetry/telemetry-config.js";
import { otelContextKey } from "../telemetry/telemetry-keys.js";
import { toSpanRecord } from "../telemetry/span-record.js";
import { createTaskContext } from "./task-context.js";
import type { TaskContextWithChildren } from "./task-context.js";

let dir: string;
let exporter: InMemorySpanExporter;
let telemetry: Telemetry;
let taskSpan: Span;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "agentmesh-task-context-"));
  exporter = new InMemorySpanExporter();
  telemetry = await startTelemetry({ service: "worker", version: "0", instanceId: "w-0", dataDir: dir, config: readTelemetryConfig({}), logger: recordingLogger(), exporter });
  taskSpan = telemetry.tracer.startSpan("agentmesh.task test.tools", {}, ROOT_CONTEXT);
});
afterEach(async () => {
  await telemetry.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** A task context of intent `test.tools` declaring `tools`, under `taskSpan`. */
function taskContext(tools: readonly string[]): TaskContextWithChildren {
  const req = create(DelegateRequestSchema, { taskId: "t-1", intent: "test.tools" });
  const values = createContextValues()
    .set(chainKey, emptyChain)
    .set(callerKey, { subject: "alice", role: "supervisor", expiresAt: 0 } as never)
    .set(otelContextKey, trace.setSpan(ROOT_CONTEXT, taskSpan));
  return createTaskContext(req, meshCall(DelegationService.method.delegate, req, values), new AbortController().signal, tools, {
    // Tools never reach the gateway: these two are never called.
    gateway: undefined as never, token: () => Promise.reject(new Error("no gateway")), logger: recordingLogger(), telemetry,
  });
}

const toolSpans = () => exporter.getFinishedSpans().map(toSpanRecord).filter((s) => s.name.startsWith("agentmesh.tool "));

describe("createTaskContext's tool", () => {
  it("refuses a tool the intent does not declare with PERMISSION_DENIED tool_not_allowed, without running or counting it", () => {
    const { ctx, toolCalls } = taskContext(["csv.parse"]);
    let ran = false;
    let thrown: unknown;
    try {
      ctx.tool("shell.exec", () => {
        ran = true;
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConnectError);
    const err = thrown as ConnectError;
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason, errorDetailOf(err)?.metadata]).toEqual([
      Code.PermissionDenied, "test.tools does not declare tool shell.exec", "tool_not_allowed", { tools: "shell.exec" },
    ]);
    expect([ran, toolCalls(), toolSpans()]).toEqual([false, 0, []]);
  });

  it("runs sync and async tools in spans under the task's span and counts each call, failed ones too", async () => {
    const { ctx, toolCalls } = taskContext(["csv.parse", "outbox.write"]);
    expect(ctx.tool("csv.parse", () => 42)).toBe(42);
    await expect(ctx.tool("outbox.write", () => Promise.resolve("written"))).resolves.toBe("written");
    expect(() => ctx.tool("csv.parse", () => {
      throw new RangeError("bad quote");
    })).toThrow(new RangeError("bad quote"));
    await expect(ctx.tool("outbox.write", () => Promise.reject(new Error("disk full")))).rejects.toThrow("disk full");
    taskSpan.end();

    expect(toolCalls()).toBe(4);
    const task = taskSpan.spanContext();
    expect(toolSpans().map((s) => [s.name, s.kind, s.traceId === task.traceId, s.parentSpanId === task.spanId, s.attributes["agentmesh.tool.name"], s.attributes["agentmesh.task_id"], s.status])).toEqual([
      ["agentmesh.tool csv.parse", "internal", true, true, "csv.parse", "t-1", { code: "unset" }],
      ["agentmesh.tool outbox.write", "internal", true, true, "outbox.write", "t-1", { code: "unset" }],
      ["agentmesh.tool csv.parse", "internal", true, true, "csv.parse", "t-1", { code: "error", message: "bad quote" }],
      ["agentmesh.tool outbox.write", "internal", true, true, "outbox.write", "t-1", { code: "error", message: "disk full" }],
    ]);
  });
});
