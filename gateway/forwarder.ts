/**
 * The gateway's task executor: resolves the intent to live replicas, refuses a
 * cycle back to the chosen agent, and forwards the call over gRPC with the
 * caller's identity, the chain, the trace and the deadline. Only a transport-level
 * UNAVAILABLE (the replica could not be reached) is retried — Delegate is
 * idempotent by task id — on another replica where one exists, with exponential
 * back-off and full jitter, within the deadline.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import {
  assertNoCycle, callerKey, chainHeader, chainKey, effectiveDeadlineMs, createGrpcClient, errorDetailOf,
  forwardedCallerHeader, forwardedRoleHeader, formatTraceparent, meshError, traceKey,
} from "../mesh/index.js";
import type { GrpcClient, Logger, MeshCall, TaskExecutor } from "../mesh/index.js";
import type { Replica, RoutingTable } from "./routing-table.js";

/** Options of `createForwarder`. */
export interface ForwarderOptions {
  readonly table: RoutingTable;
  readonly token: () => Promise<string>;
  readonly logger: Logger;
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
  const maxAttempts = o.maxAttempts ?? 3;
  const backoff = o.backoffMs ?? 100;

  const execute: TaskExecutor = async (req, call, _started, signal) => {
    const deadline = effectiveDeadlineMs(call.deadline, req);
    const tried = new Set<string>();
    let lastError: ConnectError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const replica = choose(o.table, req.intent, tried);
      if (replica === undefined) break;
      assertNoCycle(call.values.get(chainKey)!, replica.agent, req.intent);
      tried.add(replica.address);
      const cancelDownstream = () => {
        if (errorDetailOf(signal.reason as ConnectError)?.reason === "canceled") void forwardCancel(client(replica.address), req.taskId, call, o);
      };
      signal.addEventListener("abort", cancelDownstream, { once: true });
      try {
        const res = await client(replica.address).unary(DelegationService.method.delegate, req, {
          metadata: await forwardMetadata(call, o.token),
          signal,
          ...(deadline === undefined ? {} : { deadline }),
        });
        o.table.markSuccess(replica);
        return res.result as Result;
      } catch (err) {
        const ce = err instanceof ConnectError ? err : meshError(Code.Internal, "forwarding failed", { reason: "internal" }, err);
        // Only a transport failure means the replica is gone: an UNAVAILABLE that
        // a handler returned carries a mesh ErrorDetail and is the task's answer.
        if (ce.code !== Code.Unavailable || errorDetailOf(ce) !== undefined || signal.aborted) throw ce;
        o.table.markFailure(replica);
        lastError = ce;
        o.logger.warn("worker unavailable", { agent: replica.agent, address: replica.address, attempt, task_id: req.taskId, error: ce.rawMessage });
        const pause = Math.random() * backoff * 2 ** (attempt - 1);
        if (deadline !== undefined && Date.now() + pause >= deadline) break;
        await new Promise((r) => setTimeout(r, pause));
      } finally {
        signal.removeEventListener("abort", cancelDownstream);
      }
    }
    if (lastError !== undefined) {
      throw meshError(Code.Unavailable, `the worker for ${req.intent} became unavailable: ${lastError.rawMessage}`, {
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

/** The next replica to try: an untried one if any, else (a single replica) the same one again. */
function choose(table: RoutingTable, intent: string, tried: ReadonlySet<string>): Replica | undefined {
  return table.pick(intent, tried)[0] ?? (tried.size > 0 ? table.pick(intent)[0] : undefined);
}

async function forwardMetadata(call: MeshCall, token: () => Promise<string>): Promise<Record<string, string>> {
  const caller = call.values.get(callerKey)!;
  const md: Record<string, string> = {
    authorization: `Bearer ${await token()}`,
    [forwardedCallerHeader]: caller.subject,
    [forwardedRoleHeader]: caller.role,
  };
  const chain = call.header.get(chainHeader);
  if (chain !== null) md[chainHeader] = chain;
  const trace = call.values.get(traceKey);
  if (trace !== undefined) md["traceparent"] = formatTraceparent(trace);
  return md;
}

async function forwardCancel(client: GrpcClient, taskId: string, call: MeshCall, o: ForwarderOptions): Promise<void> {
  try {
    await client.unary(DelegationService.method.cancel, { taskId, reason: "canceled through the gateway" }, {
      metadata: await forwardMetadata(call, o.token),
      deadline: Date.now() + 2_000,
    });
  } catch (err) {
    o.logger.warn("could not forward the cancellation", { task_id: taskId, error: String(err) });
  }
}
