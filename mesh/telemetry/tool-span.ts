/**
 * Spans of tool calls: each tool a handler runs through `ctx.tool` (TaskContext,
 * mesh/agent/intent.ts) is an INTERNAL span `agentmesh.tool <name>`, a child of
 * the task's span, so a trace shows the handler's work between its hops. A tool
 * may be synchronous or return a promise; the span ends when it returns or
 * settles, in ERROR with the thrown error's message when it throws or rejects.
 */
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { Context, Span, Tracer } from "@opentelemetry/api";

/**
 * Runs `fn` inside the span of tool `name` (of task `taskId`) under `parent`, the task's context,
 * and returns what it returns: its value, or its promise, which settles like the
 * original. Rethrows what `fn` throws.
 */
export function traceTool<T>(tracer: Tracer, parent: Context, name: string, taskId: string, fn: () => T): T {
  const span = tracer.startSpan(`agentmesh.tool ${name}`, {
    kind: SpanKind.INTERNAL,
    attributes: { "agentmesh.tool.name": name, "agentmesh.task_id": taskId },
  }, parent);
  let value: T;
  try {
    value = fn();
  } catch (err) {
    endInError(span, err);
    throw err;
  }
  if (!isPromiseLike(value)) {
    span.end();
    return value;
  }
  return Promise.resolve(value).then((v) => {
    span.end();
    return v;
  }, (err: unknown) => {
    endInError(span, err);
    throw err;
  }) as T;
}

function endInError(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  span.end();
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
