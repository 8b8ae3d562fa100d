/**
 * The supervisor's handler: plans the goal with a template, delegates each step
 * through the gateway as soon as its dependencies are accepted, reviews every
 * result against the step's success criteria, and reports the whole job. The
 * mesh rolls the steps' costs up into the supervisor's result.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { isRetryable, meshError, reviewResult, stateName } from "../../mesh/index.js";
import type { HandlerOutcome, SchemaValidator, TaskContext } from "../../mesh/index.js";
import { create } from "@bufbuild/protobuf";
import { SuccessCriteriaSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { LaunchCampaignInputs, LaunchCampaignOutputs, StepReport } from "./intent.js";
import type { PlanStep, PlanTemplate } from "./plan-templates.js";

/**
 * Runs `plan` for `goal`. Throws FAILED_PRECONDITION naming the steps that did
 * not meet their criteria (later steps that depended on them are not run).
 *
 * A step whose delegation fails in a way a retry may fix (a retryable code, see
 * `isRetryable`) or is canceled is not a rejected step: once every running step
 * has settled, that error is rethrown as it is (the first such step in plan
 * order), so the mesh records a retryable failure and a retry with the same task
 * id runs the plan again; its steps keep their sub-task ids, so the steps that
 * finished answer from their stored results.
 *
 * Confidence: the mean of the accepted steps' confidences, times the share of
 * planned steps accepted.
 */
export async function launchCampaign(goal: LaunchCampaignInputs, ctx: TaskContext, plan: PlanTemplate, schemas: SchemaValidator): Promise<HandlerOutcome<LaunchCampaignOutputs>> {
  const steps = plan.steps.filter((s) => s.applies(goal));
  const outputs: Record<string, Record<string, unknown>> = {};
  const reports = new Map<string, StepReport>();
  const running = new Map<string, Promise<void>>();

  const run = async (step: PlanStep): Promise<void> => {
    await Promise.all(step.after.map((k) => running.get(k) ?? Promise.resolve()));
    const blocked = step.after.filter((k) => reports.get(k)?.accepted !== true);
    if (blocked.length > 0) {
      reports.set(step.key, { key: step.key, intent: step.intent, taskId: "", agent: "", state: "skipped", accepted: false, findings: [`not run: ${blocked.join(", ")} did not succeed`], confidence: 0 });
      return;
    }
    const successCriteria = { criteria: step.criteria, minConfidence: step.minConfidence };
    try {
      const result = await ctx.delegate({ key: step.key, intent: step.intent, inputs: step.inputs(goal, outputs), successCriteria });
      const review = reviewResult(result, create(SuccessCriteriaSchema, successCriteria), schemas);
      if (review.accepted) outputs[step.key] = result.outputs ?? {};
      reports.set(step.key, { key: step.key, intent: step.intent, taskId: result.taskId, agent: result.agent, state: stateName(result.state), accepted: review.accepted, findings: [...review.findings], confidence: result.confidence });
    } catch (err) {
      if (err instanceof ConnectError && mayRetry(err.code)) throw err;
      reports.set(step.key, { key: step.key, intent: step.intent, taskId: "", agent: "", state: "failed", accepted: false, findings: [err instanceof Error ? err.message : String(err)], confidence: 0 });
    }
  };
  for (const step of steps) running.set(step.key, run(step));
  // A step that waits for a rethrowing one rejects with the same error; the first
  // rejection in plan order is the one to rethrow.
  const settled = await Promise.allSettled(steps.map((s) => running.get(s.key)!));
  const retry = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (retry !== undefined) throw retry.reason;

  const ordered = steps.map((s) => reports.get(s.key)!);
  const failed = ordered.filter((r) => !r.accepted);
  if (failed.length > 0) {
    throw meshError(Code.FailedPrecondition, `plan ${plan.name} did not succeed: ${failed.map((r) => `${r.key} (${r.findings.join("; ")})`).join(", ")}`, {
      reason: "plan_step_rejected",
      metadata: { steps: failed.map((r) => r.key).join(",") },
    });
  }
  const accepted = ordered.filter((r) => r.accepted);
  const confidence = accepted.length === 0 ? 0 : (accepted.reduce((s, r) => s + r.confidence, 0) / accepted.length) * (accepted.length / ordered.length);
  const draft = outputs.draft as { headline: string; body: string; callToAction: string } | undefined;
  const segments = outputs.segment as { segments: { name: string; count: number }[] } | undefined;
  const published = outputs.publish as { outboxPath: string; digest: string } | undefined;
  return {
    outputs: {
      goal: goal.goal,
      plan: plan.name,
      steps: ordered,
      ...(draft === undefined ? {} : { copy: { headline: draft.headline, body: draft.body, callToAction: draft.callToAction } }),
      ...(segments === undefined ? {} : { segments: segments.segments.map((s) => ({ name: s.name, count: s.count })) }),
      ...(published === undefined ? {} : { published: { outboxPath: published.outboxPath, digest: published.digest } }),
    },
    rationale: `Planned "${goal.goal}" with the ${plan.name} template as ${ordered.length} steps (${ordered.map((r) => r.intent).join(", ")}); every step's result met its success criteria.`,
    evidence: ordered.map((r) => ({ kind: "step_review", description: `${r.key}: ${r.intent} by ${r.agent}, ${r.state}, confidence ${r.confidence.toFixed(2)}`, uri: `task:${r.taskId}` })),
    confidence,
  };
}

/** True for the failures the supervisor passes on instead of rejecting the step. */
function mayRetry(code: Code): boolean {
  return isRetryable(code) || code === Code.Canceled;
}
