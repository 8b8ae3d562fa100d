/**
 * How the coordinator runs one delegation of a saga step: a synchronous
 * `Delegate` through the gateway under the coordinator's own identity, with the
 * step's deterministic task id, so that a redo (a redelivered event, a restarted
 * coordinator or gateway) joins the running task or answers its stored result
 * instead of running it twice. A task the gateway answers before it ends (held
 * for a human approval) is `waiting`: the coordinator delegates it again later
 * with the same task id, which reads how it stands. Every call continues the
 * saga's own trace (saga-trace.ts).
 */
import { Code } from "@connectrpc/connect";
import type { ConnectError } from "@connectrpc/connect";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import type { GrpcClient } from "../client/grpc-client.js";
import { codeName, errorDetailOf, isRetryable, toConnectError } from "../errors.js";
import { isTerminal, stateName } from "../tasks/task-states.js";
import type { JsonObject } from "./saga-definition.js";
import { sagaTraceparent } from "./saga-trace.js";
import type { StepError } from "./saga-state.js";

/** One delegation to run. */
export interface StepDelegation {
  readonly sagaId: string;
  /** `<saga id>.<step>.<phase>`. */
  readonly taskId: string;
  readonly intent: string;
  readonly inputs: JsonObject;
}

/**
 * How a delegation ended: `completed`; `failed` for good (refused, rejected,
 * denied, canceled, or failed in a way a retry cannot fix); or `retry` (the task
 * or the call failed in a way the same task id may get past).
 */
export type StepOutcome =
  | { readonly kind: "completed"; readonly agent: string; readonly outputs: JsonObject }
  | { readonly kind: "failed"; readonly error: StepError }
  | { readonly kind: "retry"; readonly message: string }
  /** Not over yet (held for approval, queued, working): look again later with the same task id. */
  | { readonly kind: "waiting"; readonly state: string };

/**
 * Runs a delegation. Rejects only when `signal` aborts (the coordinator stops):
 * the delegation's outcome is then unknown and the event is delivered again.
 */
export type StepRunner = (delegation: StepDelegation, signal: AbortSignal) => Promise<StepOutcome>;

/**
 * Settles a delegation whose outcome is unknown (its attempts ran out, its
 * deadline passed, its worker was lost): sends `Cancel` for its task id and reads
 * the task's final result. Answers `completed` when the task had completed before
 * the Cancel reached it, `failed` when it ended otherwise (the Cancel stopped it),
 * and `retry` when its end could not be learned in time. Rejects only when
 * `signal` aborts.
 */
export type StepCanceller = (delegation: Pick<StepDelegation, "sagaId" | "taskId">, reason: string, signal: AbortSignal) => Promise<StepOutcome>;

/** Options of `createGatewayStepRunner`. */
export interface GatewayStepRunnerOptions {
  readonly gateway: GrpcClient;
  /** The coordinator's bearer token (made fresh when it nears expiry). */
  readonly token: () => Promise<string>;
  /** Deadline of one delegation once it runs; default 10 minutes. A task held for approval is answered at once (`waiting`). */
  readonly timeoutMs?: number;
  /**
   * How long a call the gateway could not take (it is down or restarting, or no
   * agent for the intent is registered yet) is tried again in place, with
   * back-off from 250 ms to 4 s, before the runner answers `retry`; default 30 s.
   * A gateway restart thus costs the step no delivery of its own.
   */
  readonly unavailableRetryMs?: number;
}

/** Creates the runner that delegates through the gateway. */
export function createGatewayStepRunner(o: GatewayStepRunnerOptions): StepRunner {
  const timeoutMs = o.timeoutMs ?? 10 * 60_000;
  const unavailableRetryMs = o.unavailableRetryMs ?? 30_000;
  const once = createSingleAttempt(o.gateway, o.token, timeoutMs);
  return async (d, signal) => {
    const giveUpAt = Date.now() + unavailableRetryMs;
    for (let pause = 250; ; pause = Math.min(pause * 2, 4_000)) {
      const { unreachable, ...outcome } = await once(d, signal);
      if (outcome.kind !== "retry" || unreachable !== true || Date.now() + pause > giveUpAt) return outcome;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
      });
      if (signal.aborted) throw toConnectError(signal.reason);
    }
  };
}

/**
 * Creates the canceller that cancels through the gateway; `waitMs` (default 30 s)
 * bounds the Cancel and the wait for the task's end after it.
 */
export function createGatewayStepCanceller(o: Pick<GatewayStepRunnerOptions, "gateway" | "token"> & { readonly waitMs?: number }): StepCanceller {
  const waitMs = o.waitMs ?? 30_000;
  return async (d, reason, signal) => {
    const metadata = async () => ({ authorization: `Bearer ${await o.token()}`, traceparent: sagaTraceparent(d.sagaId, d.taskId) });
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(waitMs)]);
    try {
      const res = await o.gateway.unary(DelegationService.method.cancel, { taskId: d.taskId, reason }, { metadata: await metadata(), signal: bounded, deadline: Date.now() + waitMs });
      let result = res.result!;
      if (!isTerminal(result.state)) {
        for await (const ev of o.gateway.serverStream(DelegationService.method.watchResult, { taskId: d.taskId }, { metadata: await metadata(), signal: bounded })) {
          if (ev.result !== undefined) result = ev.result;
          if (isTerminal(ev.state)) break;
        }
      }
      if (!isTerminal(result.state)) return { kind: "retry", message: `the task was still ${stateName(result.state)} after its Cancel` };
      return result.state === TaskState.COMPLETED ? stepOutcomeOf(result) : { kind: "failed", error: { code: result.error?.code || stateName(result.state), reason: result.error?.reason ?? "", message: result.error?.message || `the task ended ${stateName(result.state)}` } };
    } catch (err) {
      if (signal.aborted) throw toConnectError(signal.reason);
      const ce = toConnectError(err);
      return { kind: "retry", message: `its Cancel failed with ${codeName(ce.code)}: ${ce.rawMessage}` };
    }
  };
}

/** One Delegate (and watch) through the gateway. */
function createSingleAttempt(gateway: GrpcClient, token: () => Promise<string>, timeoutMs: number) {
  return async (d: StepDelegation, signal: AbortSignal): Promise<StepOutcome & { unreachable?: boolean }> => {
    const metadata = async () => ({ authorization: `Bearer ${await token()}`, traceparent: sagaTraceparent(d.sagaId, d.taskId) });
    try {
      const res = await gateway.unary(DelegationService.method.delegate, { taskId: d.taskId, correlationId: d.sagaId, intent: d.intent, inputs: d.inputs as never }, {
        metadata: await metadata(), signal, deadline: Date.now() + timeoutMs,
      });
      return stepOutcomeOf(res.result!);
    } catch (err) {
      if (signal.aborted) throw toConnectError(signal.reason);
      const ce = toConnectError(err);
      return { ...stepOutcomeOfError(ce), unreachable: unreachableReasons.has(errorDetailOf(ce)?.reason ?? "") || (ce.code === Code.Unavailable && errorDetailOf(ce) === undefined) };
    }
  };
}

/**
 * Refusals that say the gateway could not take the call at all, so trying the
 * same call again soon is cheap and safe: no live worker, or no agent card for
 * the intent yet (see `transientReasons`). A transport failure (UNAVAILABLE
 * without a mesh detail) counts too.
 */
const unreachableReasons: ReadonlySet<string> = new Set(["no_worker", "worker_unavailable", "unknown_intent"]);

/** What a task's result means for the saga. */
export function stepOutcomeOf(result: Result): StepOutcome {
  switch (result.state) {
    case TaskState.COMPLETED:
      return { kind: "completed", agent: result.agent, outputs: result.outputs ?? {} };
    case TaskState.FAILED:
      if (result.error?.retryable === true) return { kind: "retry", message: result.error.message };
      break;
    case TaskState.REJECTED:
    case TaskState.CANCELED:
    case TaskState.DEAD_LETTERED:
      break;
    default:
      // Not over yet (held for a person, queued, working): the coordinator looks again later.
      return { kind: "waiting", state: stateName(result.state) };
  }
  const error = result.error;
  return { kind: "failed", error: { code: error?.code || stateName(result.state), reason: error?.reason ?? "", message: error?.message || `the task ended ${stateName(result.state)}` } };
}

/**
 * Refusals a retry of the same task id gets past although their code is not a
 * retryable one: `unknown_intent` (INVALID_ARGUMENT) is what a gateway answers
 * while no agent that offers the intent has registered with it, e.g. in the
 * seconds after the gateway restarted (test/saga.test.ts, "gateway was
 * SIGKILLed"). A saga's intents are declared up front, so for a saga this is a
 * matter of availability; after the last attempt it fails for good.
 */
const transientReasons: ReadonlySet<string> = new Set(["unknown_intent"]);

/** What a refused or failed call means for the saga: retry the retryable codes (and `transientReasons`), fail on the rest. */
export function stepOutcomeOfError(err: ConnectError): StepOutcome {
  if (isRetryable(err.code) || transientReasons.has(errorDetailOf(err)?.reason ?? "")) return { kind: "retry", message: `${codeName(err.code)}: ${err.rawMessage}` };
  return { kind: "failed", error: { code: codeName(err.code), reason: errorDetailOf(err)?.reason ?? "", message: err.rawMessage } };
}
