/**
 * Step 2: trace. Continues the caller's W3C trace (or starts one) with a SERVER
 * span named `<package.Service>/<Method>`, so one delegation is one trace across
 * every hop and protocol. The span carries the RPC semantic conventions and, on
 * Delegate, the `agentmesh.*` facts of the task: who asked for what (set at the
 * start), and the chain depth, policy decision and approval (set when the call
 * ends, after the later steps found them). It ends with the call — for a
 * server stream, when the stream does — with ERROR and the message on a refusal.
 *
 * `traceKey` keeps the span's position, so results' `trace_id`, the audit log
 * and the approvals read it as before; `otelContextKey` keeps the context for
 * the spans of the work the call starts (mesh/telemetry/task-span.ts).
 */
import { SpanKind, propagation, trace } from "@opentelemetry/api";
import type { Attributes, Context, Link, Span } from "@opentelemetry/api";
import { Code } from "@connectrpc/connect";
import type { ConnectError } from "@connectrpc/connect";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest, DelegateResponse } from "../../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshCall, MeshInterceptor } from "../call.js";
import { approvalKey, callerKey, chainKey, decisionKey, traceKey } from "../context-keys.js";
import { meshError, toConnectError } from "../errors.js";
import { stateName } from "../tasks/task-states.js";
import { extractContext } from "../telemetry/propagation.js";
import { addressAttributes, decisionAttributes, rpcSystemOf, setRpcOutcome } from "../telemetry/span-attributes.js";
import type { Telemetry } from "../telemetry/start-telemetry.js";
import { otelContextKey } from "../telemetry/telemetry-keys.js";

/** The baggage entry that carries a delegation's correlation id to every hop. */
export const correlationBaggageKey = "agentmesh.correlation_id";

/** Creates the trace step over a service's telemetry. */
export function createTraceInterceptor(telemetry: Telemetry): MeshInterceptor {
  const { tracer } = telemetry;
  return (next) => async (call) => {
    const system = rpcSystemOf(call.protocol);
    const caller = call.values.get(callerKey);
    const attributes: Attributes = {
      "rpc.system": system,
      "rpc.service": call.service.typeName,
      "rpc.method": call.method.name,
      ...addressAttributes("network.peer", call.peer),
    };
    if (call.protocol === "grpc-web") attributes["agentmesh.protocol"] = "grpc-web";
    if (caller !== undefined) {
      attributes["agentmesh.caller"] = caller.subject;
      attributes["agentmesh.role"] = caller.role;
    }
    let parent = extractContext(call.header);
    let links: Link[] | undefined;
    const delegate = call.method === DelegationService.method.delegate;
    if (delegate) {
      const req = call.message as DelegateRequest;
      const correlationId = req.correlationId === "" ? req.taskId : req.correlationId;
      attributes["agentmesh.task_id"] = req.taskId;
      attributes["agentmesh.correlation_id"] = correlationId;
      attributes["agentmesh.intent"] = req.intent;
      const baggage = (propagation.getBaggage(parent) ?? propagation.createBaggage()).setEntry(correlationBaggageKey, { value: correlationId });
      parent = propagation.setBaggage(parent, baggage);
      // A retry of a task this service already started links to that task's span.
      const earlier = telemetry.tasks.get(req.taskId);
      if (earlier !== undefined) links = [{ context: earlier, attributes: { "agentmesh.link": "retry_of_task" } }];
    }
    const span = tracer.startSpan(`${call.service.typeName}/${call.method.name}`, { kind: SpanKind.SERVER, attributes, ...(links === undefined ? {} : { links }) }, parent);
    const own = span.spanContext();
    call.values.set(traceKey, { traceId: own.traceId, spanId: own.spanId, parentSpanId: trace.getSpanContext(parent)?.spanId, sampled: (own.traceFlags & 1) === 1 });
    const ctx: Context = trace.setSpan(parent, span);
    call.values.set(otelContextKey, ctx);
    let res: unknown;
    try {
      res = await next(call);
    } catch (err) {
      end(span, call, system, toConnectError(err), undefined);
      throw err;
    }
    if (call.method.methodKind === "server_streaming") {
      // Ends once: when the stream ends or fails, or when the call goes away (also
      // before the stream was ever read, when the generator's finally never runs).
      let ended = false;
      const endOnce = (err: ConnectError | undefined) => {
        if (ended) return;
        ended = true;
        call.signal.removeEventListener("abort", onAbort);
        end(span, call, system, err, undefined);
      };
      const onAbort = () => endOnce(meshError(Code.Canceled, "the call ended before the stream did", { reason: "call_ended" }));
      call.signal.addEventListener("abort", onAbort, { once: true });
      return traced(res as AsyncIterable<unknown>, endOnce);
    }
    end(span, call, system, undefined, delegate ? (res as DelegateResponse) : undefined);
    return res;
  };
}

/** Sets what the later steps learned, the outcome, and ends the span. */
function end(span: Span, call: MeshCall, system: "grpc" | "connect_rpc", err: ConnectError | undefined, res: DelegateResponse | undefined): void {
  if (call.method === DelegationService.method.delegate) {
    const chain = call.values.get(chainKey);
    if (chain !== undefined) span.setAttribute("agentmesh.depth", chain.hops.length);
    const decision = call.values.get(decisionKey);
    if (decision !== undefined) {
      const attributes = decisionAttributes(decision);
      span.setAttributes(attributes);
      span.addEvent("agentmesh.policy.decision", attributes);
    }
    const approval = call.values.get(approvalKey);
    if (approval !== undefined) span.setAttributes({ "agentmesh.approval.state": "approved", "agentmesh.approval.id": approval.approvalId, "agentmesh.approval.approver": approval.approver });
    const state = res?.result?.state;
    if (state !== undefined) {
      span.setAttribute("agentmesh.state", stateName(state));
      if (state === TaskState.AWAITING_APPROVAL) span.setAttribute("agentmesh.approval.state", "pending");
    }
  }
  setRpcOutcome(span, system, err);
  span.end();
}

/** The response stream, calling `done` once when it ends, fails or is abandoned. */
async function* traced(stream: AsyncIterable<unknown>, done: (err: ConnectError | undefined) => void): AsyncGenerator<unknown> {
  let failure: ConnectError | undefined;
  try {
    yield* stream;
  } catch (err) {
    failure = toConnectError(err);
    throw err;
  } finally {
    done(failure);
  }
}
