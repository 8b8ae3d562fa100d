/** Cost arithmetic: own cost of a handler, and roll-up over sub-tasks. */
import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { CostSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { Cost } from "../../gen/agentmesh/v1/task_pb.js";

/**
 * A Duration from fractional milliseconds, keeping sub-millisecond precision
 * (`durationFromMs` would produce fractional nanos, which cannot be encoded).
 */
export function preciseDuration(ms: number): Duration {
  const totalNanos = Math.round(ms * 1e6);
  return create(DurationSchema, { seconds: BigInt(Math.trunc(totalNanos / 1e9)), nanos: totalNanos % 1e9 });
}

/** A zero cost. */
export function zeroCost(): Cost {
  return create(CostSchema, { wallTime: preciseDuration(0) });
}

/** The sum of costs, field by field. */
export function addCosts(...costs: readonly (Cost | undefined)[]): Cost {
  let wall = 0;
  const sum = create(CostSchema);
  for (const c of costs) {
    if (c === undefined) continue;
    sum.inputTokens += c.inputTokens;
    sum.outputTokens += c.outputTokens;
    sum.moneyMicros += c.moneyMicros;
    sum.toolCalls += c.toolCalls;
    // Exact: durationMs would round each term to whole milliseconds.
    wall += c.wallTime === undefined ? 0 : Number(c.wallTime.seconds) * 1000 + c.wallTime.nanos / 1e6;
  }
  sum.wallTime = preciseDuration(wall);
  return sum;
}

/**
 * The rolled-up cost of a task: its own cost plus its children's, except wall
 * time, which is the task's own elapsed time (children ran inside it).
 */
export function rollUp(own: Cost, children: readonly (Cost | undefined)[]): Cost {
  const total = addCosts(own, ...children);
  total.wallTime = own.wallTime;
  return total;
}
