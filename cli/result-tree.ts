/**
 * Prints a task and its sub-delegations as a tree: intent, agent, state,
 * confidence and cost on every line.
 */
import { durationMs } from "@bufbuild/protobuf/wkt";
import type { Cost, Result, SubTask } from "../gen/agentmesh/v1/task_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { isTerminal, stateName } from "../mesh/index.js";

/** Formats a cost as "3 tool calls, 0 tokens, $0.000000, 12.3 ms". */
export function formatCost(cost: Cost | undefined): string {
  if (cost === undefined) return "no cost recorded";
  const tokens = cost.inputTokens + cost.outputTokens;
  const money = (Number(cost.moneyMicros) / 1e6).toFixed(6);
  const wall = cost.wallTime === undefined ? 0 : durationMs(cost.wallTime);
  return `${cost.toolCalls} tool calls, ${tokens} tokens, $${money}, ${wall.toFixed(1)} ms`;
}

/** ✔ completed, … not ended yet (working, queued, awaiting approval, ...), ✘ ended otherwise. */
const mark = (state: TaskState) => (state === TaskState.COMPLETED ? "✔" : isTerminal(state) ? "✘" : "…");

function line(node: { intent: string; agent: string; state: TaskState; confidence: number; cost?: Cost | undefined; taskId: string; error?: { message: string } | undefined }): string {
  const err = node.error !== undefined && node.state !== TaskState.COMPLETED ? `  — ${node.error.message}` : "";
  return `${mark(node.state)} ${node.intent} → ${node.agent || "?"}  [${stateName(node.state)}]  confidence ${node.confidence.toFixed(2)}  cost: ${formatCost(node.cost)}  (task ${node.taskId})${err}`;
}

/** Returns the tree of `result` as lines of text. */
export function formatResultTree(result: Result): string[] {
  const out = [line(result)];
  const walk = (children: readonly SubTask[], indent: string) => {
    children.forEach((c, i) => {
      const last = i === children.length - 1;
      out.push(`${indent}${last ? "└─ " : "├─ "}${line(c)}`);
      walk(c.subtasks, indent + (last ? "   " : "│  "));
    });
  };
  walk(result.subtasks, "");
  return out;
}
