/**
 * The span of a task. A task belongs to its task id, not to the call that
 * started it (mesh/interceptors/idempotency.ts): it may run on after that call
 * ended, and an approved task runs long after the call that asked for it. So a
 * task gets its own INTERNAL span `agentmesh.task <intent>`, started when its
 * execution starts and ended when the execution ends, with the task's state,
 * own and rolled-up cost and confidence. It is a child of the SERVER span of
 * the call that started it; an approved task, resumed without a call, is a child
 * of the span of the call it was held in (so it stays in the trace its result
 * names) and links to the span of the approver's decision. Every hop the task
 * makes is a child of this span (`otelContextKey` is set to it).
 */
import { ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import type { Link } from "@opentelemetry/api";
import { approvalKey, chainKey, traceKey } from "../context-keys.js";
import { toConnectError } from "../errors.js";
import type { TaskExecutor } from "../tasks/delegation-service.js";
import { taskOutcome, thrownOutcome } from "./metrics-hooks.js";
import { contextOf } from "./propagation.js";
import { setError, setTaskOutcome } from "./span-attributes.js";
import type { Telemetry } from "./start-telemetry.js";
import { approvedInKey, otelContextKey } from "./telemetry-keys.js";

/** Wraps a service's task executor so that each execution is a task span. */
export function traceTasks(execute: TaskExecutor, telemetry: Telemetry): TaskExecutor {
  const { tracer } = telemetry;
  return async (req, call, started, signal) => {
    const stored = call.values.get(traceKey);
    const parent = call.values.get(otelContextKey) ?? (stored === undefined ? ROOT_CONTEXT : contextOf(stored));
    const approvedIn = call.values.get(approvedInKey);
    const links: Link[] = approvedIn === undefined ? [] : [{ context: approvedIn, attributes: { "agentmesh.link": "approved_in" } }];
    const approval = call.values.get(approvalKey);
    const span = tracer.startSpan(`agentmesh.task ${req.intent}`, {
      kind: SpanKind.INTERNAL,
      links,
      attributes: {
        "agentmesh.task_id": req.taskId,
        "agentmesh.correlation_id": req.correlationId === "" ? req.taskId : req.correlationId,
        "agentmesh.intent": req.intent,
        "agentmesh.depth": call.values.get(chainKey)?.hops.length ?? 0,
        ...(approval === undefined ? {} : { "agentmesh.approval.id": approval.approvalId, "agentmesh.approval.state": "approved" }),
      },
    }, parent);
    telemetry.tasks.remember(req.taskId, span.spanContext());
    call.values.set(otelContextKey, trace.setSpan(parent, span));
    const startedAt = performance.now();
    try {
      const result = await execute(req, call, started, signal);
      setTaskOutcome(span, result);
      telemetry.metrics.task(taskOutcome(req, result, performance.now() - startedAt));
      return result;
    } catch (err) {
      // A failure a retry may fix (the claim is released), or the task canceled.
      const ce = toConnectError(err);
      setError(span, ce);
      telemetry.metrics.task(thrownOutcome(req, ce, started.agent, performance.now() - startedAt));
      throw err;
    } finally {
      span.end();
    }
  };
}
