/**
 * Review of a result against the success criteria its delegator set: every
 * criterion's outputs schema must hold and the confidence must reach the minimum.
 */
import type { SuccessCriteria, Result } from "../../gen/agentmesh/v1/task_pb.js";
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { describeViolations } from "./json-schema.js";
import type { SchemaValidator } from "./json-schema.js";

/** The verdict of a review. */
export interface Review {
  readonly accepted: boolean;
  /** One sentence per unmet criterion (empty when accepted). */
  readonly findings: readonly string[];
}

/** Reviews `result` against `criteria`. A result that did not complete is never accepted. */
export function reviewResult(result: Result, criteria: SuccessCriteria | undefined, schemas: SchemaValidator): Review {
  if (result.state !== TaskState.COMPLETED) {
    return { accepted: false, findings: [`the task ended ${TaskState[result.state]}: ${result.error?.message ?? "no error given"}`] };
  }
  const findings: string[] = [];
  for (const c of criteria?.criteria ?? []) {
    const violations = schemas.validate(c.outputsSchema ?? {}, result.outputs ?? {}, "outputs");
    if (violations.length > 0) findings.push(`${c.description}: ${describeViolations(violations)}`);
  }
  const min = criteria?.minConfidence ?? 0;
  if (result.confidence < min) {
    findings.push(`confidence ${result.confidence.toFixed(2)} is below the required ${min.toFixed(2)}`);
  }
  return { accepted: findings.length === 0, findings };
}
