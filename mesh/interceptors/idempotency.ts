/**
 * Step 6: idempotency. The same task id with the same request returns the same
 * result and never executes twice, also when identical requests arrive at once:
 * the first claims the execution, the others wait for its outcome. The same id
 * with a different request is refused with ALREADY_EXISTS.
 *
 * The execution belongs to the task, not to the call that started it: when that
 * caller goes away (cancels, times out, loses its connection) the task keeps
 * running to its end and keeps its claim, so a retry joins it or reads its result
 * instead of starting it a second time. Only `Cancel` or the task's deadline
 * stop it.
 */
import { create, toJson } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { createHash } from "node:crypto";
import { Code } from "@connectrpc/connect";
import type { ConnectError } from "@connectrpc/connect";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest, DelegateResponse } from "../../gen/agentmesh/v1/delegation_pb.js";
import { ArtifactRefSchema, ResultSchema, SuccessCriteriaSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshCall, MeshHandler, MeshInterceptor } from "../call.js";
import { canonicalJson } from "../canonical-json.js";
import { callerKey, taskSignalKey } from "../context-keys.js";
import { errorDetailOf, meshError, taskDeadlineExceeded, taskErrorOf, toConnectError } from "../errors.js";
import type { TaskStore } from "../tasks/task-store.js";
import { initialResult } from "../tasks/result-builder.js";
import { isTerminal } from "../tasks/task-states.js";
import { effectiveDeadlineMs } from "../validation/delegate-request-rules.js";

/** Creates the idempotency step over `store`; it acts on `Delegate` only. */
export function createIdempotencyInterceptor(store: TaskStore, agent: string): MeshInterceptor {
  return (next) => async (call) => {
    if (call.method !== DelegationService.method.delegate) {
      return next(call);
    }
    const req = call.message as DelegateRequest;
    const caller = call.values.get(callerKey)!;
    const fingerprint = requestFingerprint(caller.subject, req);
    if (call.signal.aborted) {
      // Nobody waits for this call any more (it may have been canceled already): start nothing.
      throw meshError(Code.Canceled, "the call ended before the task started", { reason: "call_ended" });
    }
    const deadline = effectiveDeadlineMs(call.deadline, req);
    for (;;) {
      const outcome = store.begin({ taskId: req.taskId, fingerprint, owner: caller.subject, initial: initialResult(req, call, agent) });
      if (outcome.kind === "finished") return { result: outcome.result };
      if (outcome.kind === "started") {
        call.values.set(taskSignalKey, outcome.signal);
        return { result: await whileCallLasts(execute(store, next, call, req.taskId), call.signal, deadline) };
      }
      try {
        return { result: await whileCallLasts(outcome.done, call.signal, deadline) };
      } catch (err) {
        // The execution this call joined ran out of its own caller's time and let
        // the task go (a retryable outcome); this call may have more: run it again,
        // as its caller's retry would. (E.g. a retry without a deadline that
        // arrives while the first attempt is still stopping at its deadline.)
        if (!isDeadlineRelease(err) || call.signal.aborted || (deadline !== undefined && Date.now() >= deadline)) throw err;
      }
    }
  };
}

/** True for the error an execution was released with when its task's deadline passed (`taskDeadlineExceeded`). */
function isDeadlineRelease(err: unknown): boolean {
  const ce = toConnectError(err);
  return ce.code === Code.DeadlineExceeded && errorDetailOf(ce)?.reason === "deadline_exceeded";
}

/** Runs the task to its end and records the outcome (synced before it is answered); rejects only when the claim was released. */
async function execute(store: TaskStore, next: MeshHandler, call: MeshCall, taskId: string): Promise<Result> {
  try {
    const response = (await next(call)) as DelegateResponse;
    await store.finish(taskId, response.result!);
    // A queued task's answer is what was accepted, QUEUED, though its worker may have moved it on already.
    return isTerminal(response.result!.state) ? store.get(taskId)!.result : response.result!;
  } catch (err) {
    const ce = toConnectError(err);
    const snapshot = store.get(taskId)!.result;
    if (isTerminal(snapshot.state)) {
      // Canceled while running: the cancellation is the task's outcome.
      await store.finish(taskId, snapshot);
      return snapshot;
    }
    store.release(taskId, create(ResultSchema, { ...snapshot, state: TaskState.FAILED, error: taskErrorOf(ce), updatedAt: timestampNow() }), ce);
    throw ce;
  }
}

/**
 * Waits for a task's outcome as long as the call is there to receive it and the
 * task's deadline (epoch ms) has not passed. When the call ends first it fails
 * with CANCELED (nobody listens any more); when the deadline passes first it
 * fails with DEADLINE_EXCEEDED. Either way the task goes on to its end, which
 * the store records.
 */
function whileCallLasts(outcome: Promise<Result>, callSignal: AbortSignal, deadline: number | undefined): Promise<Result> {
  outcome.catch(() => undefined);
  const ended = (): ConnectError => meshError(Code.Canceled, "the call ended before the task did; the task goes on: read it with GetResult", { reason: "call_ended" });
  if (callSignal.aborted) return Promise.reject(ended());
  return new Promise<Result>((resolve, reject) => {
    const onAbort = () => reject(ended());
    callSignal.addEventListener("abort", onAbort, { once: true });
    const timer = deadline === undefined ? undefined : setTimeout(() => {
      reject(taskDeadlineExceeded());
    }, Math.max(0, deadline - Date.now()));
    void outcome.then(resolve, reject).finally(() => {
      callSignal.removeEventListener("abort", onAbort);
      clearTimeout(timer);
    });
  });
}

/**
 * Digest of who asked for what. Two requests are the same task when the same
 * caller asks for the same intent with the same inputs, artifacts, success
 * criteria, tools and data class. The deadline, budget, SLO, mode and
 * correlation id are how the task is run, not what it is: a retry may carry a
 * later deadline or the budget left after other work, and is still the same task.
 */
export function requestFingerprint(caller: string, req: DelegateRequest): string {
  const identity = {
    intent: req.intent,
    inputs: req.inputs ?? {},
    artifacts: req.artifacts.map((a) => toJson(ArtifactRefSchema, a)),
    successCriteria: req.successCriteria === undefined ? null : toJson(SuccessCriteriaSchema, req.successCriteria),
    allowedTools: [...(req.constraints?.allowedTools ?? [])].sort(),
    dataClass: req.constraints?.dataClass ?? 0,
  };
  return createHash("sha256").update(caller).update("\n").update(canonicalJson(identity)).digest("hex");
}
