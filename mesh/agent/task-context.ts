/**
 * Builds the `TaskContext` a handler receives, including `delegate`, which sends a
 * sub-task through the gateway with the proof of this task's chain (the gateway's
 * hop token this task arrived with), the budget left, the deadline and the trace,
 * waits for its terminal result (following it with WatchResult when the gateway
 * holds it for a human approval), cancels it when this task is canceled, and
 * records it for the roll-up. The gateway extends the chain by this task; the
 * handler never touches it. And `tool`, which runs a tool the intent declares
 * in a span under the task's (mesh/telemetry/tool-span.ts) and counts it for the
 * task's own cost.
 */
import { create } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import { ConstraintsSchema, SubTaskSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result, SubTask } from "../../gen/agentmesh/v1/task_pb.js";
import { Code } from "@connectrpc/connect";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import type { MeshCall } from "../call.js";
import { callerKey, chainKey, hopTokenKey } from "../context-keys.js";
import { minLimit } from "../chain/delegation-chain.js";
import { positive } from "../chain/chain-limits.js";
import { hopMetadata } from "../client/hop-metadata.js";
import { startClientSpan } from "../telemetry/client-span.js";
import { traceTool } from "../telemetry/tool-span.js";
import type { Telemetry } from "../telemetry/start-telemetry.js";
import { otelContextKey } from "../telemetry/telemetry-keys.js";
import type { GrpcClient } from "../client/grpc-client.js";
import { effectiveDeadlineMs, idPattern } from "../validation/delegate-request-rules.js";
import { meshError, taskErrorOf, toConnectError } from "../errors.js";
import { isTerminal, refusedState } from "../tasks/task-states.js";
import { abortedByCancel, cancelSubTask, followSubTask } from "./follow-sub-task.js";
import { addCosts } from "./cost.js";
import type { TaskContext } from "./intent.js";
import type { Logger } from "../logger.js";
import { createArtifactClient, defaultArtifactsUrl } from "../artifacts/artifact-client.js";
import type { ArtifactClient } from "../artifacts/artifact-client.js";

/** What `createTaskContext` needs from the agent. */
export interface TaskContextDeps {
  readonly gateway: GrpcClient;
  readonly token: () => Promise<string>;
  readonly logger: Logger;
  /** The agent's telemetry: each sub-delegation is a CLIENT span under the task's span. */
  readonly telemetry: Telemetry;
  /** Base URL of the gateway's artifact endpoint (AGENTMESH_ARTIFACTS_URL); default `defaultArtifactsUrl` of the gateway's address (its gRPC port + 2). */
  readonly artifactsUrl?: string | undefined;
}

/** A task context plus the record of the sub-tasks it made. */
export interface TaskContextWithChildren {
  readonly ctx: TaskContext;
  readonly subtasks: SubTask[];
  readonly childCosts: () => ReturnType<typeof addCosts>;
  /** Tool calls made so far through `ctx.tool`. */
  readonly toolCalls: () => number;
}

/** Creates the context of one task execution; `tools` are the tools its intent declares. */
export function createTaskContext(req: DelegateRequest, call: MeshCall, signal: AbortSignal, tools: readonly string[], deps: TaskContextDeps): TaskContextWithChildren {
  const chain = call.values.get(chainKey)!;
  // The claims of a hop token hold for its own task only (hop-token.ts), so only
  // this task's token proves the chain of its sub-tasks.
  const proof = call.values.get(hopTokenKey)?.token;
  // The task's span (mesh/telemetry/task-span.ts): hops are its children.
  const trace = call.values.get(otelContextKey) ?? ROOT_CONTEXT;
  const deadline = effectiveDeadlineMs(call.deadline, req);
  const subtasks: SubTask[] = [];
  const results: Result[] = [];
  const childCosts = () => addCosts(...results.map((r) => r.cost));
  let toolCalls = 0;
  // Made on first use: most tasks never touch an artifact.
  let artifactClient: ArtifactClient | undefined;
  const artifacts = () => (artifactClient ??= createArtifactClient({ baseUrl: deps.artifactsUrl ?? defaultArtifactsUrl(deps.gateway.address), token: deps.token, proof }));

  const ctx: TaskContext = {
    taskId: req.taskId,
    correlationId: req.correlationId === "" ? req.taskId : req.correlationId,
    intent: req.intent,
    caller: call.values.get(callerKey)!,
    depth: chain.hops.length,
    signal,
    deadline,
    constraints: req.constraints,
    artifacts: req.artifacts,
    logger: deps.logger,
    tool(name, fn) {
      if (!tools.includes(name)) {
        throw meshError(Code.PermissionDenied, `${req.intent} does not declare tool ${name}`, {
          reason: "tool_not_allowed",
          metadata: { tools: name },
        });
      }
      // A canceled or expired task starts no more work.
      if (signal.aborted) throw toConnectError(signal.reason);
      toolCalls += 1;
      return traceTool(deps.telemetry.tracer, trace, name, req.taskId, fn);
    },
    fetchArtifact: (ref) => artifacts().fetch(ref, signal),
    putArtifact: (data, options = {}) => artifacts().put(data, { taskId: req.taskId, ...options, signal }),
    async delegate(sub) {
      // A canceled or expired parent starts no more work.
      if (signal.aborted) throw toConnectError(signal.reason);
      const spent = childCosts();
      const budget = {
        moneyMicros: chain.budget.moneyMicros === undefined ? undefined : chain.budget.moneyMicros - spent.moneyMicros,
        tokens: chain.budget.tokens === undefined ? undefined : chain.budget.tokens - (spent.inputTokens + spent.outputTokens),
      };
      const taskId = childTaskId(req.taskId, sub.key);
      const constraints = create(ConstraintsSchema, {
        ...sub.constraints,
        maxCostMicros: minLimit(budget.moneyMicros, positive(sub.constraints?.maxCostMicros)) ?? 0n,
        deadline: deadline === undefined ? undefined : timestampFromMs(deadline),
        dataClass: sub.constraints?.dataClass ?? req.constraints?.dataClass,
      });
      const token = await deps.token();
      const hop = startClientSpan(deps.telemetry, trace, DelegationService.method.delegate, deps.gateway.address, { "agentmesh.task_id": taskId, "agentmesh.intent": sub.intent });
      const metadata = hopMetadata(token, { proof, budget }, hop.context);
      // The sub-task belongs to its id, not to this call (README, "A task belongs to
      // its task id"): when the parent is canceled, only an explicit Cancel stops it.
      const cancelChild = () => {
        if (!abortedByCancel(signal)) return;
        void cancelSubTask(deps.gateway, taskId, `parent task ${req.taskId} was canceled`, async () => hopMetadata(await deps.token(), undefined, trace), deps.logger);
      };
      signal.addEventListener("abort", cancelChild, { once: true });
      try {
        const res = await deps.gateway.unary(
          DelegationService.method.delegate,
          { taskId, correlationId: ctx.correlationId, intent: sub.intent, inputs: sub.inputs as never, constraints, successCriteria: sub.successCriteria, artifacts: [...(sub.artifacts ?? [])] },
          { metadata, signal, ...(deadline === undefined ? {} : { deadline }) },
        ).then((r) => {
          hop.end();
          return r;
        }, (err: unknown) => {
          hop.end(err);
          throw err;
        });
        // Held for a human approval (or queued): the parent waits for the outcome.
        const result = isTerminal(res.result!.state)
          ? res.result!
          : await followSubTask(deps.gateway, res.result!, { metadata: hopMetadata(token, undefined, trace), signal, deadline });
        results.push(result);
        subtasks.push(create(SubTaskSchema, {
          taskId, intent: result.intent, agent: result.agent, state: result.state, cost: result.cost,
          confidence: result.confidence, subtasks: result.subtasks, error: result.error,
        }));
        return result;
      } catch (err) {
        const ce = toConnectError(signal.aborted ? signal.reason : err);
        subtasks.push(create(SubTaskSchema, { taskId, intent: sub.intent, state: refusedState(ce.code), error: taskErrorOf(ce) }));
        throw ce;
      } finally {
        signal.removeEventListener("abort", cancelChild);
      }
    },
  };
  return { ctx, subtasks, childCosts, toolCalls: () => toolCalls };
}

/** The id of a sub-task: the parent's id and the key, hashed when too long for an id. */
export function childTaskId(parent: string, key: string): string {
  const id = `${parent}.${key}`;
  if (idPattern.test(id)) return id;
  return `${parent.slice(0, 60)}.${createHash("sha256").update(id).digest("hex").slice(0, 32)}`;
}
