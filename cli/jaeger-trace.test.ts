import { describe, expect, it } from "vitest";
import { jaegerSpanRecords } from "./jaeger-trace.js";
import type { JaegerTrace } from "./jaeger-trace.js";
import { formatTraceTree } from "./trace-tree.js";

const traceId = "0af7651916cd43dd8448eb211c80319c";

/** Two spans as Jaeger's /api/traces answers them for OTLP input: a server span and its failed task span. */
const trace: JaegerTrace = {
  traceID: traceId,
  processes: { p1: { serviceName: "gateway", tags: [{ key: "service.instance.id", type: "string", value: "gw-1" }] } },
  spans: [
    {
      traceID: traceId, spanID: "b7ad6b7169203331", operationName: "agentmesh.v1.DelegationService/Delegate", processID: "p1",
      references: [{ refType: "CHILD_OF", traceID: traceId, spanID: "00f067aa0ba902b7" }],
      startTime: 1_700_000_000_000_000, duration: 20_000,
      tags: [
        { key: "span.kind", type: "string", value: "server" },
        { key: "otel.scope.name", type: "string", value: "agentmesh" },
        { key: "agentmesh.policy.allow", type: "bool", value: false },
        { key: "agentmesh.policy.reasons", type: "string", value: '["missing_scope","approval_required"]' },
        { key: "agentmesh.depth", type: "int64", value: 0 },
        { key: "otel.status_code", type: "string", value: "ERROR" },
        { key: "otel.status_description", type: "string", value: "refused" },
        { key: "error", type: "bool", value: true },
      ],
      logs: [{ timestamp: 1_700_000_000_001_000, fields: [{ key: "event", type: "string", value: "agentmesh.policy.decision" }, { key: "agentmesh.policy.allow", type: "bool", value: false }] }],
    },
    {
      traceID: traceId, spanID: "c7ad6b7169203331", operationName: "agentmesh.task test.echo", processID: "p1",
      references: [
        { refType: "CHILD_OF", traceID: traceId, spanID: "b7ad6b7169203331" },
        { refType: "FOLLOWS_FROM", traceID: "ab".repeat(16), spanID: "cd".repeat(8) },
      ],
      startTime: 1_700_000_000_002_000, duration: 10_000,
      tags: [{ key: "span.kind", type: "string", value: "internal" }, { key: "agentmesh.cost.tool_calls", type: "int64", value: 2 }],
    },
  ],
};

describe("jaegerSpanRecords", () => {
  it("turns Jaeger's JSON spans into span records: parent, service, kind, status, attributes (arrays parsed back), events, links", () => {
    expect(jaegerSpanRecords(trace)).toEqual([
      {
        traceId, spanId: "b7ad6b7169203331", parentSpanId: "00f067aa0ba902b7", service: "gateway", name: "agentmesh.v1.DelegationService/Delegate", kind: "server",
        startUs: 1_700_000_000_000_000, durationUs: 20_000, status: { code: "error", message: "refused" },
        attributes: { "agentmesh.policy.allow": false, "agentmesh.policy.reasons": ["missing_scope", "approval_required"], "agentmesh.depth": 0 },
        events: [{ name: "agentmesh.policy.decision", timeUs: 1_700_000_000_001_000, attributes: { "agentmesh.policy.allow": false } }],
      },
      {
        traceId, spanId: "c7ad6b7169203331", parentSpanId: "b7ad6b7169203331", service: "gateway", name: "agentmesh.task test.echo", kind: "internal",
        startUs: 1_700_000_000_002_000, durationUs: 10_000, status: { code: "unset" }, attributes: { "agentmesh.cost.tool_calls": 2 },
        links: [{ traceId: "ab".repeat(16), spanId: "cd".repeat(8), attributes: {} }],
      },
    ]);
  });

  it("gives the tree the embedded store gives", () => {
    expect(formatTraceTree(traceId, jaegerSpanRecords(trace))).toEqual([
      `trace ${traceId} (2 spans)`,
      "└─ gateway  agentmesh.v1.DelegationService/Delegate (server)  policy deny (missing_scope, approval_required)  20.0 ms  ✘ refused",
      "   └─ gateway  agentmesh.task test.echo  cost 2 tool calls, 0 tokens, $0.000000  10.0 ms",
    ]);
  });
});
