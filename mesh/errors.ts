/**
 * The one way errors leave the mesh: a `ConnectError` with a status code from the
 * DESIGN.md table and an `agentmesh.v1.ErrorDetail` detail that carries the
 * machine-readable reason. Every transport adapter turns these into its own wire
 * form (Connect JSON, gRPC trailers), so a caller sees the same code, message and
 * detail whatever protocol it speaks.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ErrorDetailSchema } from "../gen/agentmesh/v1/delegation_pb.js";
import type { ErrorDetail, FieldViolation } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskErrorSchema } from "../gen/agentmesh/v1/task_pb.js";
import type { TaskError } from "../gen/agentmesh/v1/task_pb.js";

/** Machine-readable detail of a mesh error, minus the protobuf bookkeeping. */
export type ErrorDetailInit = MessageInitShape<typeof ErrorDetailSchema> & { reason: string };

/**
 * Creates the `ConnectError` for a refusal or failure.
 *
 * @param code status code (see the table in DESIGN.md)
 * @param message human-readable sentence; machine-readable facts go in `detail`
 * @param detail reason code plus violations, policy reasons or metadata
 */
export function meshError(code: Code, message: string, detail: ErrorDetailInit, cause?: unknown): ConnectError {
  return new ConnectError(message, code, undefined, [{ desc: ErrorDetailSchema, value: detail }], cause);
}

/** Shorthand for INVALID_ARGUMENT with field violations. */
export function invalidArgument(message: string, reason: string, violations: { field: string; description: string }[] = []): ConnectError {
  return meshError(Code.InvalidArgument, message, { reason, violations });
}

/** Returns the `ErrorDetail` attached to an error, if any. */
export function errorDetailOf(err: ConnectError): ErrorDetail | undefined {
  return err.findDetails(ErrorDetailSchema)[0];
}

/** Returns the field violations attached to an error (empty when none). */
export function violationsOf(err: ConnectError): FieldViolation[] {
  return errorDetailOf(err)?.violations ?? [];
}

/**
 * Status codes after which retrying the same task id may succeed. Everything else
 * is a property of the request (bad input, denial, cycle) and fails again.
 */
const retryableCodes: ReadonlySet<Code> = new Set([Code.Unavailable, Code.ResourceExhausted, Code.Aborted, Code.DeadlineExceeded]);

/** True when retrying the same call may succeed. */
export function isRetryable(code: Code): boolean {
  return retryableCodes.has(code);
}

/** Lowercase snake name of a code, as Connect writes it ("invalid_argument"). */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * Turns any thrown value into a `ConnectError`. A `ConnectError` passes through;
 * anything else becomes INTERNAL with a generic message, so no internal detail
 * reaches the caller; the cause is kept on the error for the logs.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) {
    return err;
  }
  return meshError(Code.Internal, "internal error", { reason: "internal" }, err);
}

/** DEADLINE_EXCEEDED for a task whose deadline passed while it ran. */
export function taskDeadlineExceeded(): ConnectError {
  return meshError(Code.DeadlineExceeded, "the task's deadline passed before it finished", { reason: "deadline_exceeded" });
}

/** The `TaskError` recorded on a result for a failed task. */
export function taskErrorOf(err: ConnectError): TaskError {
  return create(TaskErrorSchema, {
    code: codeName(err.code),
    message: err.rawMessage,
    retryable: isRetryable(err.code),
    reason: errorDetailOf(err)?.reason ?? "",
  });
}
