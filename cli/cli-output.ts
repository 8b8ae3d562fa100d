/**
 * What the `agentmesh` commands print: results as trees, and errors with the
 * mesh's machine-readable reason and field violations.
 */
import { ConnectError } from "@connectrpc/connect";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import { errorDetailOf } from "../mesh/index.js";
import { formatResultTree } from "./result-tree.js";

/** Prints `result` as a tree, then its outputs, rationale and trace id. */
export function printResult(result: Result): void {
  process.stdout.write(formatResultTree(result).join("\n") + "\n");
  if (result.outputs !== undefined) process.stdout.write(`\noutputs:\n${JSON.stringify(result.outputs, null, 2)}\n`);
  if (result.rationale !== "") process.stdout.write(`\nrationale: ${result.rationale}\n`);
  process.stdout.write(`trace id: ${result.traceId}\n`);
}

/** Prints `err` to stderr: the message, the ErrorDetail's reason and each field violation. */
export function printError(err: unknown): void {
  if (err instanceof ConnectError) {
    const detail = errorDetailOf(err);
    process.stderr.write(`error: ${err.message}${detail === undefined ? "" : ` (reason: ${detail.reason})`}\n`);
    for (const v of detail?.violations ?? []) process.stderr.write(`  ${v.field}: ${v.description}\n`);
  } else {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
