/**
 * What a service author writes: intents with their contracts and a handler. The
 * mesh does everything else (authentication, validation, chain, policy,
 * idempotency, cost roll-up, result building).
 */
import type { Constraints, ArtifactRef, Result } from "../../gen/agentmesh/v1/task_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ConstraintsSchema, CriterionSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { Identity } from "../auth/identity.js";
import type { Logger } from "../logger.js";

/** A tool an intent uses. */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  /** Scopes a caller of the tool must hold. */
  readonly scopes: readonly string[];
}

/** What a handler produced; the mesh turns it into a `Result`. */
export interface HandlerOutcome<O> {
  /** Must satisfy the intent's output schema, or the task fails. */
  readonly outputs: O;
  readonly rationale: string;
  readonly evidence: readonly { kind: string; description: string; uri?: string; excerpt?: string }[];
  /** 0..1, computed by the handler from its work. */
  readonly confidence: number;
  /**
   * Tool calls the handler made that the mesh could not observe (a library that
   * calls tools itself); default 0. Calls made through `ctx.tool` are counted by
   * the mesh and must not be repeated here: the cost's `tool_calls` is the sum.
   */
  readonly toolCalls?: number;
  /** Model usage and money of the handler's own work; zero when no model was used. */
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly moneyMicros?: number;
}

/**
 * Runs tool `name` by calling `fn` (synchronous, or returning a promise) and
 * returns what `fn` returns. See `TaskContext.tool`.
 */
export type ToolRunner = <T>(name: string, fn: () => T) => T;

/** A sub-delegation a handler asks for. */
export interface SubDelegation {
  /** Names the sub-task within its parent; the sub-task id is derived from it, so a retried parent reuses its children's ids and nothing runs twice. */
  readonly key: string;
  readonly intent: string;
  readonly inputs: Record<string, unknown>;
  readonly successCriteria?: { criteria?: MessageInitShape<typeof CriterionSchema>[]; minConfidence?: number };
  readonly constraints?: Omit<MessageInitShape<typeof ConstraintsSchema>, "$typeName">;
  /**
   * Artifacts the sub-task reads, by signed link (`ctx.putArtifact`, or this
   * task's own `ctx.artifacts`): links scoped to this task or to one it was
   * delegated from are on the sub-task's chain, so its agent may fetch them.
   */
  readonly artifacts?: readonly ArtifactRef[];
}

/** What a handler knows about the task it executes, and how it delegates onward. */
export interface TaskContext {
  readonly taskId: string;
  readonly correlationId: string;
  readonly intent: string;
  /** Who delegated the task (verified). */
  readonly caller: Identity;
  /** Position on the delegation chain: 0 when delegated from outside the mesh. */
  readonly depth: number;
  /** Aborted on cancellation or deadline; pass it to anything slow. */
  readonly signal: AbortSignal;
  /** Epoch ms, or undefined. */
  readonly deadline: number | undefined;
  readonly constraints: Constraints | undefined;
  readonly artifacts: readonly ArtifactRef[];
  readonly logger: Logger;
  /**
   * Delegates a sub-task through the gateway, carrying the chain, budget left,
   * deadline and trace. Resolves to the sub-task's result in a terminal state:
   * when the gateway answers before the sub-task ends (held for a human approval,
   * or queued), it follows the sub-task until it does, within this task's
   * deadline. When this task is canceled meanwhile, it cancels the sub-task
   * through the gateway. Throws a `ConnectError` when the delegation itself is
   * refused or fails, or with this task's own outcome when it is canceled or its
   * deadline passes.
   */
  delegate(sub: SubDelegation): Promise<Result>;
  /**
   * Runs one call of tool `name` (`fn`, synchronous or async) where the mesh
   * observes it: a span `agentmesh.tool <name>` under the task's span (ERROR with
   * the message when `fn` throws or rejects), and one more tool call in the task's
   * own cost, whether it succeeds or not. Returns what `fn` returns. Throws
   * PERMISSION_DENIED `tool_not_allowed` without running `fn` when the intent does
   * not declare the tool in its `tools` (the only tools `constraints.allowed_tools`
   * was checked against), and this task's own outcome when it was canceled or its
   * deadline passed.
   */
  tool: ToolRunner;
  /**
   * Fetches an artifact through its signed link (one of `artifacts`, or one a
   * sub-task returned), as this agent with this task's chain as proof, and
   * checks the bytes against the reference's digest and size. Throws a
   * `ConnectError`: DATA_LOSS `artifact_digest_mismatch`, PERMISSION_DENIED
   * `link_invalid` / `link_expired` / `link_out_of_scope`, NOT_FOUND
   * `artifact_not_found`, UNAVAILABLE when the gateway's artifact endpoint
   * cannot be reached.
   */
  fetchArtifact(ref: ArtifactRef): Promise<Uint8Array>;
  /**
   * Uploads `data` (a string goes as UTF-8) as an artifact scoped to this task
   * and returns its reference (signed link, digest, size, media type, name),
   * ready for an output or a sub-delegation's `artifacts`. `mediaType` defaults
   * to `application/octet-stream`. Throws a `ConnectError` as `fetchArtifact`
   * does, and INVALID_ARGUMENT `artifact_too_large` above the gateway's cap.
   */
  putArtifact(data: Uint8Array | string, options?: { mediaType?: string; name?: string }): Promise<ArtifactRef>;
}

/** One intent an agent offers. */
export interface IntentDefinition<I = Record<string, unknown>, O = Record<string, unknown>> {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  readonly outputSchema: Record<string, unknown>;
  /** Names of the tools the handler uses (declared on the agent). */
  readonly tools: readonly string[];
  readonly requiredScopes: readonly string[];
  handle(inputs: I, ctx: TaskContext): Promise<HandlerOutcome<O>>;
}

/** Identity function that keeps a handler's input and output types. */
export function defineIntent<I, O>(intent: IntentDefinition<I, O>): IntentDefinition<I, O> {
  return intent;
}
