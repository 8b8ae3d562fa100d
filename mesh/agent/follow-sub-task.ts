/**
 * What a parent task does with a sub-task the gateway answered before it ended
 * (held for a human approval, or queued): follow it with `WatchResult` through
 * the gateway until it ends; and, when the parent is canceled, cancel it there.
 */
import { Code } from "@connectrpc/connect";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import type { GrpcClient } from "../client/grpc-client.js";
import { errorDetailOf, meshError, taskDeadlineExceeded, toConnectError } from "../errors.js";
import type { Logger } from "../logger.js";
import { isTerminal, stateName } from "../tasks/task-states.js";

/** How to call the gateway about one sub-task. */
export interface SubTaskCallOptions {
  /** Bearer token and trace of the parent's agent (the sub-task's owner). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The parent's signal: aborted when the parent is canceled or its deadline passes. */
  readonly signal: AbortSignal;
  /** The parent's deadline, epoch ms. */
  readonly deadline: number | undefined;
}

/**
 * Follows `first` (a non-terminal result of a sub-task) until the sub-task ends,
 * and resolves to its terminal result. Throws the parent's own outcome when its
 * signal aborts (CANCELED, or DEADLINE_EXCEEDED `deadline_exceeded` when the
 * deadline passes); UNAVAILABLE `watch_ended` when the watch ends before the
 * sub-task does (a retry of the parent with the same task id follows it again);
 * and whatever else the gateway answers.
 */
export async function followSubTask(gateway: GrpcClient, first: Result, o: SubTaskCallOptions): Promise<Result> {
  let last = first;
  try {
    const events = gateway.serverStream(DelegationService.method.watchResult, { taskId: first.taskId }, {
      metadata: o.metadata, signal: o.signal, ...(o.deadline === undefined ? {} : { deadline: o.deadline }),
    });
    for await (const ev of events) {
      if (ev.result !== undefined) last = ev.result;
      if (isTerminal(ev.state)) return last;
    }
  } catch (err) {
    if (o.signal.aborted) throw toConnectError(o.signal.reason);
    const ce = toConnectError(err);
    // grpc-js's own deadline may fire just before the parent's timer: the same outcome.
    if (ce.code === Code.DeadlineExceeded && errorDetailOf(ce) === undefined) throw taskDeadlineExceeded();
    throw ce;
  }
  if (o.signal.aborted) throw toConnectError(o.signal.reason);
  throw meshError(Code.Unavailable, `the watch of sub-task ${first.taskId} ended while it was ${stateName(last.state)}; retry with the same task id`, {
    reason: "watch_ended",
    metadata: { task_id: first.taskId },
  });
}

/**
 * Sends `Cancel` for a sub-task through the gateway, as its owner: the gateway
 * cancels its record (a held task never runs) and forwards the cancel to the
 * worker running it. `metadata` is made at the time (the parent may have waited
 * longer than a token lives). Best effort, within 2 s: a failure is logged,
 * never thrown.
 */
export async function cancelSubTask(gateway: GrpcClient, taskId: string, reason: string, metadata: () => Promise<Readonly<Record<string, string>>>, logger: Logger): Promise<void> {
  try {
    await gateway.unary(DelegationService.method.cancel, { taskId, reason }, { metadata: await metadata(), deadline: Date.now() + 2_000 });
  } catch (err) {
    logger.warn("could not cancel the sub-task", { task_id: taskId, error: toConnectError(err).rawMessage });
  }
}

/** True when `signal` was aborted because its task was canceled (not by its deadline). */
export function abortedByCancel(signal: AbortSignal): boolean {
  return signal.aborted && errorDetailOf(toConnectError(signal.reason))?.reason === "canceled";
}
