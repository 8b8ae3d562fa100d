/**
 * What the recording sites of the delegation metrics (metrics.ts) pass: the
 * outcome of a task from its request and result, or from the error it ended in.
 */
import { Code } from "@connectrpc/connect";
import type { ConnectError } from "@connectrpc/connect";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { Cost, Result } from "../../gen/agentmesh/v1/task_pb.js";
import { errorDetailOf } from "../errors.js";
import { stateName } from "../tasks/task-states.js";
import type { TaskOutcome } from "./metrics.js";

/** The request's `slo.target_duration` in ms; undefined when it has none. */
export function sloMsOf(req: Pick<DelegateRequest, "slo">): number | undefined {
  const d = req.slo?.targetDuration;
  return d === undefined ? undefined : Number(d.seconds) * 1000 + d.nanos / 1e6;
}

const noCost = { moneyMicros: 0, inputTokens: 0, outputTokens: 0 };

function costOf(c: Cost | undefined): Pick<TaskOutcome, "moneyMicros" | "inputTokens" | "outputTokens"> {
  return c === undefined ? noCost : { moneyMicros: Number(c.moneyMicros), inputTokens: Number(c.inputTokens), outputTokens: Number(c.outputTokens) };
}

function withSlo(req: Pick<DelegateRequest, "slo">): { sloMs?: number } {
  const slo = sloMsOf(req);
  return slo === undefined ? {} : { sloMs: slo };
}

/** A task that ended with `result` after running `durationMs` (its rolled-up cost: what the delegator paid). */
export function taskOutcome(req: DelegateRequest, result: Result, durationMs: number): TaskOutcome {
  const reason = result.error?.reason;
  return {
    taskId: req.taskId, intent: req.intent, agent: result.agent, state: stateName(result.state),
    ...(reason ? { reason } : {}), durationMs, ...withSlo(req), ...costOf(result.cost ?? result.ownCost),
  };
}

/** A task whose execution threw `err` (canceled, or a failure a retry may fix). */
export function thrownOutcome(req: DelegateRequest, err: ConnectError, agent: string, durationMs: number): TaskOutcome {
  const reason = errorDetailOf(err)?.reason ?? "";
  const state = reason === "canceled" || err.code === Code.Canceled ? "canceled" : err.code === Code.PermissionDenied ? "rejected" : "failed";
  return { taskId: req.taskId, intent: req.intent, agent, state, ...(reason ? { reason } : {}), durationMs, ...withSlo(req), ...noCost };
}

/** A task that ended REJECTED without running (refused by policy, approval denied or expired) at `agent`. */
export function rejectedOutcome(req: DelegateRequest, agent: string, reason: string): TaskOutcome {
  return { taskId: req.taskId, intent: req.intent, agent, state: "rejected", reason, ...withSlo(req), ...noCost };
}
