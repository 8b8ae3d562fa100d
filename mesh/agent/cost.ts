/** Cost arithmetic: own cost of a handler, and roll-up over sub-tasks. */
import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { CostSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { Cost } from "../../gen/agentmesh/v1/task_pb.js";

/** A zero cost. */
export function zeroCost(): Cost {
  return create(CostSchema, { wallTime: durationFromMs(0) });
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
    wall += c.wallTime === undefined ? 0 : durationMs(c.wallTime);
  }
  sum.wallTime = durationFromMs(wall);
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
