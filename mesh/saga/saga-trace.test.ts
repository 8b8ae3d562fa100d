import { describe, expect, it } from "vitest";
import { parseTraceparent } from "../trace/trace-context.js";
import { sagaTraceId, sagaTraceparent } from "./saga-trace.js";

describe("sagaTraceparent", () => {
  it("puts every delegation of a saga in the saga's trace, each with a span id of its own", () => {
    const doIt = parseTraceparent(sagaTraceparent("launch-1", "launch-1.reserve-budget.do"));
    const undo = parseTraceparent(sagaTraceparent("launch-1", "launch-1.reserve-budget.undo"));
    expect(doIt).toEqual({ traceId: sagaTraceId("launch-1"), spanId: expect.stringMatching(/^[0-9a-f]{16}$/) as string, sampled: true });
    expect(undo?.traceId).toBe(doIt?.traceId);
    expect(undo?.spanId).not.toBe(doIt?.spanId);
    expect(sagaTraceId("launch-2")).not.toBe(sagaTraceId("launch-1"));
    expect(sagaTraceId("launch-1")).toMatch(/^[0-9a-f]{32}$/);
  });
});
