/**
 * Step 6: idempotency. The same task id with the same request returns the same
 * result and never executes twice, also when identical requests arrive at once:
 * the first claims the execution, the others wait for its result. The same id
 * with a different request is refused with ALREADY_EXISTS.
 */
import { create, toJson } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { createHash } from "node:crypto";
import { DelegateRequestSchema, DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest, DelegateResponse } from "../../gen/agentmesh/v1/delegation_pb.js";
import { ResultSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshInterceptor } from "../call.js";
import { canonicalJson } from "../canonical-json.js";
import { callerKey, taskSignalKey } from "../context-keys.js";
import { taskErrorOf, toConnectError } from "../errors.js";
import type { TaskStore } from "../tasks/task-store.js";
import { initialResult } from "../tasks/result-builder.js";
import { isTerminal } from "../tasks/task-states.js";

/** Creates the idempotency step over `store`; it acts on `Delegate` only. */
export function createIdempotencyInterceptor(store: TaskStore, agent: string): MeshInterceptor {
  return (next) => async (call) => {
    if (call.method !== DelegationService.method.delegate) {
      return next(call);
    }
    const req = call.message as DelegateRequest;
    const caller = call.values.get(callerKey)!;
    const fingerprint = requestFingerprint(caller.subject, req);
    const outcome = store.begin({ taskId: req.taskId, fingerprint, owner: caller.subject, initial: initialResult(req, call, agent) });
    if (outcome.kind === "finished") return { result: outcome.result };
    if (outcome.kind === "joined") return { result: await outcome.done };
    call.values.set(taskSignalKey, outcome.signal);
    try {
      const response = (await next(call)) as DelegateResponse;
      await store.finish(req.taskId, response.result!);
      return { result: store.get(req.taskId)!.result };
    } catch (err) {
      const ce = toConnectError(err);
      const snapshot = store.get(req.taskId)!.result;
      if (isTerminal(snapshot.state)) {
        // Canceled while running: the cancellation is the task's outcome.
        await store.finish(req.taskId, snapshot);
        return { result: snapshot };
      }
      store.release(req.taskId, create(ResultSchema, { ...snapshot, state: TaskState.FAILED, error: taskErrorOf(ce), updatedAt: timestampNow() }));
      throw ce;
    }
  };
}

/** Digest of who asked for what: equal requests from the same caller have equal fingerprints. */
export function requestFingerprint(caller: string, req: DelegateRequest): string {
  const json = canonicalJson(toJson(DelegateRequestSchema, req));
  return createHash("sha256").update(caller).update("\n").update(json).digest("hex");
}
