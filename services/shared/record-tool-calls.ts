/**
 * A `ToolRunner` for running a service's work outside the mesh (its unit tests):
 * it runs each tool directly and records the tool's name, in call order.
 */
import type { ToolRunner } from "../../mesh/index.js";

/** A runner and the names of the tools it ran so far. */
export interface ToolCallRecord {
  readonly tool: ToolRunner;
  readonly calls: string[];
}

/** Creates a runner that records every call and runs it as is. */
export function recordToolCalls(): ToolCallRecord {
  const calls: string[] = [];
  return {
    calls,
    tool: (name, fn) => {
      calls.push(name);
      return fn();
    },
  };
}
