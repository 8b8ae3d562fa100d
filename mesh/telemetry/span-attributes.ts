/**
 * Span attributes of the mesh: RPC semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/rpc/) and the `agentmesh.*`
 * namespace (DESIGN.md, "Telemetry"). Each is set once per span.
 */
import { SpanStatusCode } from "@opentelemetry/api";
import type { Attributes, Span } from "@opentelemetry/api";
import type { ConnectError } from "@connectrpc/connect";
import type { Cost, PolicyDecision, Result } from "../../gen/agentmesh/v1/task_pb.js";
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { codeName, errorDetailOf } from "../errors.js";
import { stateName } from "../tasks/task-states.js";

/** `rpc.system` of a call that came on `protocol`: Connect is `connect_rpc`, gRPC and gRPC-Web are `grpc`. */
export function rpcSystemOf(protocol: string): "grpc" | "connect_rpc" {
  return protocol === "connect" ? "connect_rpc" : "grpc";
}

/** `server.address`/`server.port` (client) or `network.peer.*` (server) of "host:port" (grpc-js may prefix "ipv4:"). */
export function addressAttributes(prefix: "server" | "network.peer", address: string): Attributes {
  const bare = address.replace(/^ipv[46]:/, "");
  const colon = bare.lastIndexOf(":");
  if (bare === "") return {};
  if (colon < 0) return { [`${prefix}.address`]: bare };
  const port = Number(bare.slice(colon + 1));
  const host = bare.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return Number.isInteger(port) ? { [`${prefix}.address`]: host, [`${prefix}.port`]: port } : { [`${prefix}.address`]: bare };
}

/**
 * Sets the outcome of an RPC that failed with `err` (undefined: it succeeded) on
 * its span: the status code attribute of its RPC system, and `setError`.
 */
export function setRpcOutcome(span: Span, system: "grpc" | "connect_rpc", err: ConnectError | undefined): void {
  if (err === undefined) {
    if (system === "grpc") span.setAttribute("rpc.grpc.status_code", 0);
    return;
  }
  if (system === "grpc") span.setAttribute("rpc.grpc.status_code", err.code);
  else span.setAttribute("rpc.connect_rpc.error_code", codeName(err.code));
  setError(span, err);
}

/** ERROR with the message, the mesh's reason and a policy's reasons. */
export function setError(span: Span, err: ConnectError): void {
  const detail = errorDetailOf(err);
  span.setAttribute("agentmesh.error.code", codeName(err.code));
  if (detail !== undefined) {
    span.setAttribute("agentmesh.error.reason", detail.reason);
    if (detail.policyReasons.length > 0) span.setAttribute("agentmesh.policy.reasons", detail.policyReasons.map((r) => r.code));
  }
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.rawMessage });
}

/** The policy decision as attributes (`agentmesh.policy.*`). */
export function decisionAttributes(d: PolicyDecision): Attributes {
  return {
    "agentmesh.policy.allow": d.allow,
    "agentmesh.policy.requires_approval": d.requiresApproval,
    "agentmesh.policy.reasons": d.reasons.map((r) => r.code),
    "agentmesh.policy.revision": d.revision,
  };
}

/** Milliseconds of a cost's wall time. */
function wallMs(c: Cost): number {
  return c.wallTime === undefined ? 0 : Number(c.wallTime.seconds) * 1000 + c.wallTime.nanos / 1e6;
}

/** A cost as `<prefix>.input_tokens`, `.output_tokens`, `.money_micros`, `.tool_calls`, `.wall_time_ms`. */
export function costAttributes(prefix: string, c: Cost | undefined): Attributes {
  if (c === undefined) return {};
  return {
    [`${prefix}.input_tokens`]: Number(c.inputTokens),
    [`${prefix}.output_tokens`]: Number(c.outputTokens),
    [`${prefix}.money_micros`]: Number(c.moneyMicros),
    [`${prefix}.tool_calls`]: Number(c.toolCalls),
    [`${prefix}.wall_time_ms`]: wallMs(c),
  };
}

const failedStates: ReadonlySet<TaskState> = new Set([TaskState.FAILED, TaskState.REJECTED, TaskState.CANCELED, TaskState.DEAD_LETTERED]);

/**
 * Sets the outcome of a task on its span: state, agent, confidence, own
 * (`agentmesh.own_cost.*`) and rolled-up (`agentmesh.cost.*`) cost, sub-task
 * count, and ERROR with the task's error when it did not complete.
 */
export function setTaskOutcome(span: Span, result: Result): void {
  span.setAttributes({
    "agentmesh.state": stateName(result.state),
    "agentmesh.agent": result.agent,
    "agentmesh.confidence": result.confidence,
    "agentmesh.subtasks": result.subtasks.length,
    ...costAttributes("agentmesh.own_cost", result.ownCost),
    ...costAttributes("agentmesh.cost", result.cost),
  });
  if (failedStates.has(result.state)) {
    if (result.error?.reason) span.setAttribute("agentmesh.error.reason", result.error.reason);
    span.setStatus({ code: SpanStatusCode.ERROR, message: result.error?.message ?? stateName(result.state) });
  }
}
