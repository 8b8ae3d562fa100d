/** The trace step's server-streaming spans end however the stream ends, also when it is never read. */
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { DelegationService, WatchResultRequestSchema } from "../../gen/agentmesh/v1/delegation_pb.js";
import { meshCall, recordingLogger } from "../../test/support/mesh-call.js";
import { readTelemetryConfig } from "../telemetry/telemetry-config.js";
import { startTelemetry } from "../telemetry/start-telemetry.js";
import { createTraceInterceptor } from "./trace.js";

describe("the trace step on a server stream", () => {
  it("ends the span when the call goes away before the stream was ever read", async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = await startTelemetry({ service: "gateway", version: "0", instanceId: "t", dataDir: "/nonexistent", config: readTelemetryConfig({}), logger: recordingLogger(), exporter });
    try {
      const call = meshCall(DelegationService.method.watchResult, create(WatchResultRequestSchema, { taskId: "t-1" }));
      const controller = new AbortController();
      const abandoned = { ...call, signal: controller.signal };
      async function* never(): AsyncGenerator<unknown> {
        await new Promise(() => undefined);
        yield undefined;
      }
      await createTraceInterceptor(telemetry)(() => Promise.resolve(never()))(abandoned);
      expect(exporter.getFinishedSpans()).toHaveLength(0);
      controller.abort();
      expect(exporter.getFinishedSpans().map((s) => [s.name, s.status.message])).toEqual([["agentmesh.v1.DelegationService/WatchResult", "the call ended before the stream did"]]);
    } finally {
      await telemetry.shutdown();
    }
  });
});
