/** Facts about task states shared by the store, the services and the CLI. */
import { Code } from "@connectrpc/connect";
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
/**
 * The state a task ends in when it was refused with `code` before or while it
 * ran: REJECTED for a denial (policy, scopes), CANCELED for a cancellation,
 * FAILED for anything else.
 */
export function refusedState(code: Code): TaskState {
  if (code === Code.PermissionDenied) return TaskState.REJECTED;
  if (code === Code.Canceled) return TaskState.CANCELED;
  return TaskState.FAILED;
}

export function stateName(state: TaskState): string {
  return (TaskState[state] ?? "unspecified").toLowerCase();
}
