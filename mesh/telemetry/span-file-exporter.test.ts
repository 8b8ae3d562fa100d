import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import type { ExportResult } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { createSpanFileExporter, spanFileName } from "./span-file-exporter.js";
import type { SpanRecord } from "./span-record.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "agentmesh-spans-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Two finished spans of service "svc": a SERVER span with an event and its failed INTERNAL child with a link. */
function finishedSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "svc" }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer("test");
  const server = tracer.startSpan("pkg.Service/Method", { kind: SpanKind.SERVER, attributes: { "rpc.system": "grpc", "agentmesh.task_id": "t-1" }, startTime: 1_700_000_000_000 }, ROOT_CONTEXT);
  server.addEvent("agentmesh.policy.decision", { "agentmesh.policy.allow": true }, 1_700_000_000_001);
  const link = { traceId: "ab".repeat(16), spanId: "cd".repeat(8), traceFlags: 1 };
  const task = tracer.startSpan("agentmesh.task x", { links: [{ context: link, attributes: { "agentmesh.link": "retry_of_task" } }], startTime: 1_700_000_000_002 }, trace.setSpan(ROOT_CONTEXT, server));
  task.setStatus({ code: SpanStatusCode.ERROR, message: "it broke" });
  task.end(1_700_000_000_012);
  server.end(1_700_000_000_020);
  return memory.getFinishedSpans();
}

const exportTo = (exporter: ReturnType<typeof createSpanFileExporter>, spans: ReadableSpan[]) =>
  new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));

describe("createSpanFileExporter", () => {
  it("appends one span record per line, a batch at a time", async () => {
    const path = join(dir, "data", spanFileName("svc"));
    const exporter = createSpanFileExporter(path);
    const [task, server] = finishedSpans();
    expect(await exportTo(exporter, [task!, server!])).toEqual({ code: ExportResultCode.SUCCESS });
    await exporter.shutdown();
    const records = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as SpanRecord);
    const traceId = server!.spanContext().traceId;
    expect(records).toEqual([
      {
        traceId, spanId: task!.spanContext().spanId, parentSpanId: server!.spanContext().spanId, service: "svc", name: "agentmesh.task x", kind: "internal",
        startUs: 1_700_000_000_002_000, durationUs: 10_000, status: { code: "error", message: "it broke" }, attributes: {},
        links: [{ traceId: "ab".repeat(16), spanId: "cd".repeat(8), attributes: { "agentmesh.link": "retry_of_task" } }],
      },
      {
        traceId, spanId: server!.spanContext().spanId, service: "svc", name: "pkg.Service/Method", kind: "server",
        startUs: 1_700_000_000_000_000, durationUs: 20_000, status: { code: "unset" }, attributes: { "rpc.system": "grpc", "agentmesh.task_id": "t-1" },
        events: [{ name: "agentmesh.policy.decision", timeUs: 1_700_000_000_001_000, attributes: { "agentmesh.policy.allow": true } }],
      },
    ]);
  });

  it("refuses spans after shutdown", async () => {
    const exporter = createSpanFileExporter(join(dir, spanFileName("svc")));
    await exporter.shutdown();
    const result = await exportTo(exporter, finishedSpans());
    expect([result.code, result.error?.message]).toEqual([ExportResultCode.FAILED, "the span file exporter is shut down"]);
  });
});
