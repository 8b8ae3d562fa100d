/** Facts about task states shared by the store, the services and the CLI. */
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";

const terminal: ReadonlySet<TaskState> = new Set([
  TaskState.COMPLETED,
  TaskState.FAILED,
  TaskState.CANCELED,
  TaskState.REJECTED,
  TaskState.DEAD_LETTERED,
]);

/** True for states a task never leaves. */
export function isTerminal(state: TaskState): boolean {
  return terminal.has(state);
}

/** Lowercase name of a state without its prefix, e.g. "awaiting_approval". */
export function stateName(state: TaskState): string {
  return (TaskState[state] ?? "unspecified").toLowerCase();
}
