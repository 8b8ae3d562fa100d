/**
 * CLIENT spans of outgoing hops (the gateway forwarding a task, an agent
 * delegating a sub-task): a child of the work that makes the hop, named like the
 * server span it leads to, whose context the hop's metadata carries
 * (`injectContext`), so the callee's SERVER span is its child.
 */
import { SpanKind, trace } from "@opentelemetry/api";
import type { Attributes, Context, Span } from "@opentelemetry/api";
import type { DescMethod } from "@bufbuild/protobuf";
import { toConnectError } from "../errors.js";
import { addressAttributes, setRpcOutcome } from "./span-attributes.js";
import type { Telemetry } from "./start-telemetry.js";

/** A started client span and the context to inject into the hop's metadata. */
export interface ClientSpan {
  readonly span: Span;
  readonly context: Context;
  /** Ends the span: OK, or ERROR with the failure's code and message. */
  end(err?: unknown): void;
}

/** Starts the CLIENT span of a gRPC call of `method` to `address`, under `parent`. */
export function startClientSpan(telemetry: Telemetry, parent: Context, method: DescMethod, address: string, attributes: Attributes = {}): ClientSpan {
  const span = telemetry.tracer.startSpan(`${method.parent.typeName}/${method.name}`, {
    kind: SpanKind.CLIENT,
    attributes: { "rpc.system": "grpc", "rpc.service": method.parent.typeName, "rpc.method": method.name, ...addressAttributes("server", address), ...attributes },
  }, parent);
  return {
    span,
    context: trace.setSpan(parent, span),
    end(err) {
      setRpcOutcome(span, "grpc", err === undefined ? undefined : toConnectError(err));
      span.end();
    },
  };
}
