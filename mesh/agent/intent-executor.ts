/**
 * Executes a task on an agent: runs the intent's handler with its task context,
 * checks the outputs against the intent's output schema, and builds the result
 * with its own and rolled-up cost and its sub-tasks.
 */
import { Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { CostSchema, EvidenceSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { Cost } from "../../gen/agentmesh/v1/task_pb.js";
import { inputsKey } from "../context-keys.js";
import { isRetryable, meshError, taskErrorOf, toConnectError } from "../errors.js";
import type { TaskExecutor } from "../tasks/delegation-service.js";
import { withState } from "../tasks/result-builder.js";
import { describeViolations } from "../validation/json-schema.js";
import type { SchemaValidator } from "../validation/json-schema.js";
import { preciseDuration, rollUp } from "./cost.js";
import type { HandlerOutcome, IntentDefinition } from "./intent.js";
import { createTaskContext } from "./task-context.js";
import type { TaskContextDeps } from "./task-context.js";
import { refusedState } from "../tasks/task-states.js";

/** What the executor needs. */
export interface IntentExecutorOptions extends TaskContextDeps {
  readonly intents: ReadonlyMap<string, IntentDefinition<never, unknown>>;
  readonly schemas: SchemaValidator;
}

/** Creates the executor of an agent's intents. */
export function createIntentExecutor(o: IntentExecutorOptions): TaskExecutor {
  return async (req, call, started, signal) => {
    const intent = o.intents.get(req.intent)!;
    assertToolsAllowed(intent, req.constraints?.allowedTools ?? []);
    const { ctx, subtasks, childCosts, toolCalls } = createTaskContext(req, call, signal, intent.tools, o);
    const t0 = performance.now();
    const ownCost = (outcome?: HandlerOutcome<unknown>): Cost =>
      create(CostSchema, {
        inputTokens: BigInt(outcome?.inputTokens ?? 0),
        outputTokens: BigInt(outcome?.outputTokens ?? 0),
        moneyMicros: BigInt(outcome?.moneyMicros ?? 0),
        // Observed through ctx.tool (failed calls too), plus those the handler reports.
        toolCalls: BigInt(toolCalls() + (outcome?.toolCalls ?? 0)),
        wallTime: preciseDuration(performance.now() - t0),
      });
    try {
      // The task holds its claim until the handler itself settles, even when it is
      // canceled or its deadline passes: a retry never runs beside it.
      const outcome = await intent.handle(call.values.get(inputsKey) as never, ctx);
      const violations = o.schemas.validate(intent.outputSchema, outcome.outputs, "outputs");
      if (violations.length > 0) {
        throw meshError(Code.Internal, `${intent.name} produced outputs that break its output schema: ${describeViolations(violations)}`, {
          reason: "output_schema_violation",
          violations,
        });
      }
      const own = ownCost(outcome);
      return withState(started, TaskState.COMPLETED, {
        outputs: outcome.outputs as never,
        rationale: outcome.rationale,
        evidence: outcome.evidence.map((e) => create(EvidenceSchema, e)),
        confidence: outcome.confidence,
        ownCost: own,
        cost: rollUp(own, [childCosts()]),
        subtasks,
      });
    } catch (err) {
      const ce = toConnectError(signal.aborted ? signal.reason : err);
      if (ce.code === Code.Internal) {
        o.logger.error(`${req.intent} failed`, { task_id: req.taskId, error: ce.rawMessage, cause: ce.cause instanceof Error ? (ce.cause.stack ?? ce.cause.message) : JSON.stringify(ce.cause ?? null) });
      }
      if (isRetryable(ce.code) || ce.code === Code.Canceled) {
        throw ce;
      }
      const own = ownCost();
      return withState(started, refusedState(ce.code), {
        error: taskErrorOf(ce),
        ownCost: own,
        cost: rollUp(own, [childCosts()]),
        subtasks,
      });
    }
  };
}

function assertToolsAllowed(intent: IntentDefinition<never, unknown>, allowed: readonly string[]): void {
  if (allowed.length === 0) return;
  const missing = intent.tools.filter((t) => !allowed.includes(t));
  if (missing.length > 0) {
    throw meshError(Code.PermissionDenied, `${intent.name} needs tools that constraints.allowed_tools does not allow: ${missing.join(", ")}`, {
      reason: "tool_not_allowed",
      metadata: { tools: missing.join(",") },
    });
  }
}
