/**
 * The gateway's task executor: resolves the intent to live replicas, refuses a
 * cycle back to the chosen agent, and forwards the call over gRPC with the
 * caller's identity, the trace and the deadline, under a hop token minted for
 * this task that carries its chain, signed (mesh/chain/hop-token.ts).
 *
 * Retries: a call is tried again on another replica (with exponential back-off
 * and full jitter, within the deadline) only when it provably never reached the
 * first one: no connection could be made, or the server refused the stream. A
 * call that was sent and then lost its connection may be running on that replica,
 * so it is not moved: the caller gets UNAVAILABLE and may retry with the same task
 * id, which the gateway sends to the same replica while that one is live.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import {
  approvalKey, assertNoCycle, callerKey, chainKey, effectiveDeadlineMs, createGrpcClient, errorDetailOf,
  forwardedCallerHeader, forwardedRoleHeader, injectContext, meshError, otelContextKey, startClientSpan, taskDeadlineExceeded, toConnectError,
} from "../mesh/index.js";
import type { GrpcClient, HopTokenIssuer, Logger, MeshCall, TaskExecutor, Telemetry } from "../mesh/index.js";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import type { Context } from "@opentelemetry/api";
import type { Replica, RoutingTable } from "./routing-table.js";

/** Options of `createForwarder`. */
export interface ForwarderOptions {
  readonly table: RoutingTable;
  /** The bearer token for a call to `agent` that forwards no task (Cancel): the gateway's own, bound to that agent. */
  readonly token: (agent: string) => Promise<string>;
  /**
   * Mints the bearer token of a forwarded Delegate: bound to the target agent and
   * carrying the task's chain, id, intent and approval, valid until its deadline.
   */
  readonly hopToken: HopTokenIssuer;
  readonly logger: Logger;
  /** The gateway's telemetry: each attempt is a CLIENT span under the task's span. */
  readonly telemetry: Telemetry;
  /** Most attempts per call, including the first; default 3. */
  readonly maxAttempts?: number;
  /** Base of the back-off between attempts; default 100 ms. */
  readonly backoffMs?: number;
}

/** A forwarder plus the clients it opened. */
export interface Forwarder {
  readonly execute: TaskExecutor;
  close(): void;
}

/** Creates the forwarder. */
export function createForwarder(o: ForwarderOptions): Forwarder {
  const clients = new Map<string, GrpcClient>();
  const client = (address: string) => {
    let c = clients.get(address);
    if (c === undefined) clients.set(address, (c = createGrpcClient(address)));
    return c;
  };
  /** The replica each recent task was sent to, so a retry of the task goes there again. */
  const sentTo = new Map<string, string>();
  const remember = (taskId: string, address: string) => {
    sentTo.delete(taskId);
    sentTo.set(taskId, address);
    if (sentTo.size > maxRemembered) sentTo.delete(sentTo.keys().next().value!);
  };
  const maxAttempts = o.maxAttempts ?? 3;
  const backoff = o.backoffMs ?? 100;

  const execute: TaskExecutor = async (req, call, _started, signal) => {
    const deadline = effectiveDeadlineMs(call.deadline, req);
    const tried = new Set<string>();
    let lastError: ConnectError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      // Canceled or out of time (also during the back-off): send nothing more.
      if (signal.aborted) throw toConnectError(signal.reason);
      const replica = choose(o.table, req.intent, tried, sentTo.get(req.taskId));
      if (replica === undefined) break;
      assertNoCycle(call.values.get(chainKey)!, replica.agent, req.intent);
      tried.add(replica.address);
      const cancelDownstream = () => {
        if (errorDetailOf(signal.reason as ConnectError)?.reason === "canceled") void forwardCancel(client(replica.address), replica.agent, req.taskId, call, o);
      };
      signal.addEventListener("abort", cancelDownstream, { once: true });
      remember(req.taskId, replica.address);
      const hop = startClientSpan(o.telemetry, workContext(call), DelegationService.method.delegate, replica.address, {
        "agentmesh.task_id": req.taskId, "agentmesh.intent": req.intent, "agentmesh.agent": replica.agent, "agentmesh.attempt": attempt,
      });
      try {
        const res = await client(replica.address).unary(DelegationService.method.delegate, req, {
          metadata: await forwardMetadata(call, hop.context, () => o.hopToken(replica.agent, {
            chain: call.values.get(chainKey)!, taskId: req.taskId, intent: req.intent, ...approvalOf(call),
          }, deadline)),
          signal,
          ...(deadline === undefined ? {} : { deadline }),
        });
        hop.end();
        o.table.markSuccess(replica);
        return res.result as Result;
      } catch (err) {
        hop.end(err);
        // When the task itself was canceled or ran out of time, that is the outcome,
        // not the transport error the aborted call ended with.
        if (signal.aborted) throw toConnectError(signal.reason);
        const ce = err instanceof ConnectError ? err : meshError(Code.Internal, "forwarding failed", { reason: "internal" }, err);
        // grpc-js's own deadline may fire just before the task's timer: the same outcome.
        if (ce.code === Code.DeadlineExceeded && errorDetailOf(ce) === undefined) throw taskDeadlineExceeded();
        // Only a transport failure means the replica is gone: an UNAVAILABLE that
        // a handler returned carries a mesh ErrorDetail and is the task's answer.
        if (ce.code !== Code.Unavailable || errorDetailOf(ce) !== undefined) throw ce;
        o.table.markFailure(replica);
        o.logger.warn("worker unavailable", { agent: replica.agent, address: replica.address, attempt, task_id: req.taskId, error: transportMessage(ce) });
        if (!neverSent(ce)) {
          throw meshError(Code.Unavailable, `the worker for ${req.intent} was lost while it ran the task; retry with the same task id`, {
            reason: "worker_lost",
            metadata: { intent: req.intent, agent: replica.agent },
          });
        }
        lastError = ce;
        const pause = Math.random() * backoff * 2 ** (attempt - 1);
        if (deadline !== undefined && Date.now() + pause >= deadline) break;
        await new Promise((r) => setTimeout(r, pause));
      } finally {
        signal.removeEventListener("abort", cancelDownstream);
      }
    }
    if (lastError !== undefined) {
      throw meshError(Code.Unavailable, `no worker for ${req.intent} could be reached (${tried.size} tried); retry later with the same task id`, {
        reason: "worker_unavailable",
        metadata: { intent: req.intent, attempts: String(tried.size) },
      });
    }
    throw meshError(Code.Unavailable, `no live worker offers intent ${req.intent}`, { reason: "no_worker", metadata: { intent: req.intent } });
  };

  return {
    execute,
    close() {
      for (const c of clients.values()) c.close();
    },
  };
}

/** Task ids whose replica the forwarder remembers. */
const maxRemembered = 10_000;

/**
 * The next replica to try. A retry of a task goes to the replica that had it
 * while that one's lease is live, even when it is backed off: it may still be
 * running the task, and another replica would run it a second time. Otherwise an
 * untried healthy replica, else (a single replica) the same one again.
 */
function choose(table: RoutingTable, intent: string, tried: ReadonlySet<string>, previous: string | undefined): Replica | undefined {
  const sticky = previous === undefined || tried.has(previous) ? undefined : table.replicaAt(intent, previous);
  return sticky ?? table.pick(intent, tried)[0] ?? (tried.size > 0 ? table.pick(intent)[0] : undefined);
}

/** grpc-js's own description of a transport failure (kept as the error's cause). */
function transportMessage(err: ConnectError): string {
  const details = (err.cause as { details?: unknown } | undefined)?.details;
  return typeof details === "string" ? details : err.rawMessage;
}

/**
 * True when a transport failure proves the request never reached the replica:
 * grpc-js could not connect, or the server refused the stream (HTTP/2
 * REFUSED_STREAM). Anything else (a dropped connection, a reset) may have come
 * after the replica started the task.
 */
function neverSent(err: ConnectError): boolean {
  return /No connection established|Stream refused by server/.test(transportMessage(err));
}

/** The approval the gateway runs the task under, for its hop token. */
function approvalOf(call: MeshCall) {
  const approval = call.values.get(approvalKey);
  return approval === undefined ? {} : { approval };
}

/** The OpenTelemetry context the forwarded work runs in: the task's span (mesh/telemetry/task-span.ts). */
function workContext(call: MeshCall): Context {
  return call.values.get(otelContextKey) ?? ROOT_CONTEXT;
}

/** The forwarded caller and the trace context of `trace` (the hop's span), under `token`; the chain travels in the token alone. */
async function forwardMetadata(call: MeshCall, trace: Context, token: () => Promise<string>): Promise<Record<string, string>> {
  const caller = call.values.get(callerKey)!;
  const md: Record<string, string> = {
    authorization: `Bearer ${await token()}`,
    [forwardedCallerHeader]: caller.subject,
    [forwardedRoleHeader]: caller.role,
  };
  injectContext(trace, md);
  return md;
}

async function forwardCancel(client: GrpcClient, agent: string, taskId: string, call: MeshCall, o: ForwarderOptions): Promise<void> {
  try {
    await client.unary(DelegationService.method.cancel, { taskId, reason: "canceled through the gateway" }, {
      metadata: await forwardMetadata(call, workContext(call), () => o.token(agent)),
      deadline: Date.now() + 2_000,
    });
  } catch (err) {
    o.logger.warn("could not forward the cancellation", { task_id: taskId, error: String(err) });
  }
}
