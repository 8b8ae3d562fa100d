/**
 * Who may start a saga is a policy decision like any delegation: starting saga
 * `<name>` is evaluated as intent `saga.<name>` (classified in policy data, e.g.
 * `saga.campaign-launch`), with the verified caller, at the sagas service, and
 * audited. The steps themselves are evaluated again, hop by hop, when the
 * coordinator delegates them through the gateway.
 */
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { AuditKind } from "../../gen/agentmesh/v1/audit_pb.js";
import { DelegateRequestSchema } from "../../gen/agentmesh/v1/delegation_pb.js";
import { PolicyDecisionSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { inputDigest } from "../approvals/request-digest.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { Identity } from "../auth/identity.js";
import { emptyChain } from "../chain/delegation-chain.js";
import { meshError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PolicyEngine } from "../policy/policy-engine.js";
import { thrownMessage } from "../policy/policy-errors.js";
import { buildPolicyInput } from "../policy/policy-input.js";
import type { PolicyService } from "../policy/policy-input.js";
import { outcomeOf, policyRefusal } from "../policy/policy-refusal.js";
import type { UsageCounters } from "../policy/usage-counters.js";
import type { JsonObject } from "./saga-definition.js";

/** What a saga start is decided with. */
export interface SagaStartPolicyOptions {
  readonly engine: PolicyEngine;
  readonly audit: AuditLog;
  readonly quotas: UsageCounters;
  /** The sagas service, as policy sees it (kind "agent"). */
  readonly service: PolicyService;
  readonly logger: Logger;
  /** The clock, epoch ms; default `Date.now`. */
  readonly now?: () => number;
}

/** One start to decide on. */
export interface SagaStartRequest {
  readonly caller: Identity;
  readonly sagaId: string;
  readonly name: string;
  readonly input: JsonObject;
  readonly traceId?: string;
}

/** The policy intent of starting saga `name`. */
export function sagaIntent(name: string): string {
  return `saga.${name}`;
}

/**
 * Creates the check. It resolves when policy allows the start (and counts it
 * against the caller's quota), and throws the refusal otherwise: the status of
 * the deciding reason with every reason as `policy_reasons` (as the policy step
 * does), FAILED_PRECONDITION `approval_required` when policy wants a human
 * approval (starts are not held: ask for approval of the steps instead), and
 * INTERNAL `policy_error` when the policy cannot decide.
 */
export function createSagaStartPolicy(o: SagaStartPolicyOptions): (start: SagaStartRequest) => void {
  const now = o.now ?? Date.now;
  return (start) => {
    const request = create(DelegateRequestSchema, { taskId: start.sagaId, correlationId: start.sagaId, intent: sagaIntent(start.name), inputs: start.input as never });
    const digest = inputDigest(request);
    const nowMs = now();
    const usage = o.quotas.read(start.caller.subject, request.intent, nowMs);
    const audit = (allow: boolean, reasons: { code: string; message: string }[], requiresApproval: boolean, revision: string) =>
      o.audit.record({
        kind: AuditKind.POLICY_DECISION, service: o.service.name, caller: start.caller.subject, callerRole: start.caller.role, target: o.service.name,
        intent: request.intent, taskId: start.sagaId, inputDigest: digest, traceId: start.traceId ?? "", approvalId: "",
        decision: create(PolicyDecisionSchema, { allow, reasons, requiresApproval, revision }),
      });
    let d;
    try {
      d = o.engine.evaluate(buildPolicyInput({
        nowMs, service: o.service, caller: start.caller, chain: emptyChain, request, inputDigest: digest, usage, approval: undefined,
      }));
    } catch (err) {
      audit(false, [{ code: "policy_error", message: thrownMessage(err) }], false, o.engine.revision);
      o.logger.error("policy evaluation failed; the saga start is refused", { saga_id: start.sagaId, error: thrownMessage(err) });
      throw meshError(Code.Internal, "the policy could not decide on this saga start, so it was refused", { reason: "policy_error" }, err);
    }
    if (d.quota !== undefined) o.quotas.setWindow(start.caller.subject, request.intent, d.quota.window_seconds, nowMs);
    audit(d.allow, d.reasons.map((r) => ({ code: r.code, message: r.message })), d.requires_approval, d.revision || o.engine.revision);
    switch (outcomeOf(d)) {
      case "allow":
        o.quotas.countCall(start.caller.subject, request.intent, nowMs);
        return;
      case "approval":
        throw meshError(Code.FailedPrecondition, `starting saga ${start.name} needs a human approval, and saga starts are not held for one: ${d.reasons.map((r) => r.message).join("; ")}`, {
          reason: "approval_required",
          policyReasons: d.reasons.map((r) => ({ code: r.code, message: r.message })),
        });
      case "deny":
        throw policyRefusal(d, { usage, retryAfterMs: o.quotas.retryAfterMs(start.caller.subject, request.intent, nowMs) });
    }
  };
}
