import { describe, expect, it } from "vitest";
import type { SpanRecord } from "../mesh/index.js";
import { formatDuration, formatTraceTree, traceIdsFor } from "./trace-tree.js";

const t1 = "1".repeat(32);
const t2 = "2".repeat(32);
const span = (over: Partial<SpanRecord> & Pick<SpanRecord, "spanId">): SpanRecord => ({
  traceId: t1, service: "gateway", name: "agentmesh.v1.DelegationService/Delegate", kind: "server", startUs: 0, durationUs: 1500, status: { code: "unset" }, attributes: {}, ...over,
});

/** A relay through the gateway: server → task → client at the gateway, server → task at the worker; and an echo task at the worker. */
const spans: SpanRecord[] = [
  span({ spanId: "a", parentSpanId: "caller", startUs: 1, attributes: { "agentmesh.task_id": "t-1", "agentmesh.correlation_id": "c-1", "agentmesh.intent": "test.relay", "agentmesh.state": "completed", "agentmesh.policy.allow": true, "agentmesh.policy.reasons": [] } }),
  span({ spanId: "b", parentSpanId: "a", startUs: 2, kind: "internal", name: "agentmesh.task test.relay", durationUs: 1_200_000, attributes: {
    "agentmesh.intent": "test.relay", "agentmesh.state": "completed", "agentmesh.cost.tool_calls": 2, "agentmesh.cost.input_tokens": 30, "agentmesh.cost.output_tokens": 12, "agentmesh.cost.money_micros": 1500,
  } }),
  span({ spanId: "d", parentSpanId: "b", startUs: 4, service: "worker-a", attributes: { "agentmesh.intent": "test.relay", "agentmesh.approval.state": "pending", "agentmesh.policy.allow": false, "agentmesh.policy.requires_approval": true, "agentmesh.policy.reasons": ["needs_human"] } }),
  span({ spanId: "c", parentSpanId: "b", startUs: 3, kind: "client", attributes: { "agentmesh.intent": "test.relay" }, status: { code: "error", message: "the worker was lost" } }),
  span({ spanId: "e", parentSpanId: "b", startUs: 5, service: "worker-a", attributes: { "agentmesh.intent": "test.echo", "agentmesh.policy.allow": false, "agentmesh.policy.reasons": ["role_not_allowed"] }, status: { code: "error", message: "role auditor may not delegate" } }),
  span({ traceId: t2, spanId: "r", startUs: 9, attributes: { "agentmesh.task_id": "t-1" }, links: [{ traceId: t1, spanId: "b", attributes: {} }] }),
];

describe("traceIdsFor", () => {
  it.each([
    [t1, [t1]],
    ["3".repeat(32), []],
    ["t-1", [t1, t2]],
    ["c-1", [t1]],
    ["nobody", []],
  ])("finds the traces of %s", (id, traces) => {
    expect(traceIdsFor(spans, id)).toEqual(traces);
  });
});

describe("formatDuration", () => {
  it.each([[1500, "1.5 ms"], [999_999, "1000.0 ms"], [1_200_000, "1.20 s"]])("formats %i µs as %s", (us, text) => {
    expect(formatDuration(us)).toBe(text);
  });
});

describe("formatTraceTree", () => {
  it("prints service, name, intent, state, approval, decision, cost, duration and errors, children in start order", () => {
    expect(formatTraceTree(t1, spans)).toEqual([
      `trace ${t1} (5 spans)`,
      "└─ gateway  agentmesh.v1.DelegationService/Delegate (server)  intent test.relay  state completed  policy allow  1.5 ms",
      "   └─ gateway  agentmesh.task test.relay  state completed  cost 2 tool calls, 42 tokens, $0.001500  1.20 s",
      "      ├─ gateway  agentmesh.v1.DelegationService/Delegate (client)  intent test.relay  1.5 ms  ✘ the worker was lost",
      "      ├─ worker-a  agentmesh.v1.DelegationService/Delegate (server)  intent test.relay  approval pending  policy approval (needs_human)  1.5 ms",
      "      └─ worker-a  agentmesh.v1.DelegationService/Delegate (server)  intent test.echo  policy deny (role_not_allowed)  1.5 ms  ✘ role auditor may not delegate",
    ]);
  });

  it("orders siblings started in the same microsecond by end, then span id, whatever order they are read in", () => {
    const tools = [
      span({ spanId: "t3", parentSpanId: "b", startUs: 7, durationUs: 100, kind: "internal", name: "agentmesh.tool csv.parse" }),
      span({ spanId: "t2", parentSpanId: "b", startUs: 7, durationUs: 50, kind: "internal", name: "agentmesh.tool rules.evaluate" }),
      span({ spanId: "t1", parentSpanId: "b", startUs: 7, durationUs: 100, kind: "internal", name: "agentmesh.tool outbox.write" }),
    ];
    const task = span({ spanId: "b", startUs: 6, kind: "internal", name: "agentmesh.task test.tools" });
    const tree = [
      `trace ${t1} (4 spans)`,
      "└─ gateway  agentmesh.task test.tools  1.5 ms",
      "   ├─ gateway  agentmesh.tool rules.evaluate  0.1 ms",
      "   ├─ gateway  agentmesh.tool outbox.write  0.1 ms",
      "   └─ gateway  agentmesh.tool csv.parse  0.1 ms",
    ];
    expect(formatTraceTree(t1, [task, ...tools])).toEqual(tree);
    expect(formatTraceTree(t1, [...tools].reverse().concat(task))).toEqual(tree);
  });

  it("makes a span whose parent is in no store a root", () => {
    expect(formatTraceTree(t2, spans)).toEqual([
      `trace ${t2} (1 spans)`,
      "└─ gateway  agentmesh.v1.DelegationService/Delegate (server)  1.5 ms",
    ]);
  });
});
