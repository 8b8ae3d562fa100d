/**
 * Step 5: policy. Evaluates the policy bundle for every `Delegate` call that
 * passed authentication, validation and the chain step, and acts on the decision
 * (docs/policy-contract.md): runs the call, passes it to the approval gate, or
 * refuses it. Every decision goes to the audit log and into `decisionKey`, where
 * the approval gate and the task's result find it.
 */
import { Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { AuditKind } from "../../gen/agentmesh/v1/audit_pb.js";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest, DelegateResponse } from "../../gen/agentmesh/v1/delegation_pb.js";
import { PolicyDecisionSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { PolicyDecision } from "../../gen/agentmesh/v1/task_pb.js";
import { inputDigest } from "../approvals/request-digest.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { MeshInterceptor } from "../call.js";
import { approvalKey, callerKey, chainKey, decisionKey, traceKey } from "../context-keys.js";
import { errorDetailOf, meshError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { DelegationMetrics } from "../telemetry/metrics.js";
import { rejectedOutcome } from "../telemetry/metrics-hooks.js";
import type { ContractDecision } from "./policy-contract.js";
import type { PolicyEngine } from "./policy-engine.js";
import { thrownMessage } from "./policy-errors.js";
import { buildPolicyInput } from "./policy-input.js";
import type { PolicyService } from "./policy-input.js";
import { outcomeOf, policyRefusal } from "./policy-refusal.js";
import type { UsageCounters } from "./usage-counters.js";

/** Options of `createPolicyInterceptor`. */
export interface PolicyInterceptorOptions {
  /** The bundle to evaluate; a `ReloadingPolicy` to follow bundle changes. */
  readonly engine: PolicyEngine;
  /** The service that evaluates: at an agent, also the target. */
  readonly service: PolicyService;
  /** Usage per caller × intent, fed to the policy and counted here. */
  readonly quotas: UsageCounters;
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** The clock, epoch ms; default `Date.now`. */
  readonly now?: () => number;
  /** Told of every refusal (mesh/telemetry/metrics.ts); none when unset. */
  readonly metrics?: DelegationMetrics;
}

/**
 * Creates the policy step; it acts on `Delegate` only. Per decision:
 * - allow: counts the call for caller × intent, runs it, then adds the result's
 *   money cost to the spend counter;
 * - approval required (and no reason refuses): passes the call on to the approval
 *   gate with the decision in `decisionKey`; it is counted when it runs;
 * - deny: throws the refusal (`policyRefusal`: status per reason, reasons as
 *   `ErrorDetail.policy_reasons`, quota metadata for `quota_exceeded`);
 * - no valid decision (the engine threw): throws INTERNAL, reason
 *   `policy_error`, the cause kept in the log only.
 */
export function createPolicyInterceptor(o: PolicyInterceptorOptions): MeshInterceptor {
  const now = o.now ?? Date.now;
  const target = o.service.kind === "agent" ? o.service.name : "";
  return (next) => async (call) => {
    if (call.method !== DelegationService.method.delegate) {
      return next(call);
    }
    const req = call.message as DelegateRequest;
    const caller = call.values.get(callerKey)!;
    const approval = call.values.get(approvalKey);
    const nowMs = now();
    const digest = inputDigest(req);
    const usage = o.quotas.read(caller.subject, req.intent, nowMs);
    const refused = (reason: string) => {
      o.metrics?.escalation({ taskId: req.taskId, intent: req.intent, agent: o.service.name, escalation: "refused", reason });
      o.metrics?.task(rejectedOutcome(req, o.service.name, reason));
    };
    const audit = (decision: PolicyDecision) => {
      call.values.set(decisionKey, decision);
      o.audit.record({
        kind: AuditKind.POLICY_DECISION, service: o.service.name, caller: caller.subject, callerRole: caller.role, target,
        intent: req.intent, taskId: req.taskId, inputDigest: digest, decision, traceId: call.values.get(traceKey)?.traceId ?? "",
        approvalId: approval?.approvalId ?? "",
      });
    };

    let d: ContractDecision;
    try {
      d = o.engine.evaluate(buildPolicyInput({
        nowMs, service: o.service, caller, chain: call.values.get(chainKey)!, request: req, inputDigest: digest, usage, approval,
      }));
    } catch (err) {
      const message = thrownMessage(err);
      audit(create(PolicyDecisionSchema, { allow: false, reasons: [{ code: "policy_error", message }], revision: o.engine.revision }));
      o.logger.error("policy evaluation failed; the call is refused", { task_id: req.taskId, intent: req.intent, revision: o.engine.revision, error: message });
      refused("policy_error");
      throw meshError(Code.Internal, "the policy could not decide on this call, so it was refused", { reason: "policy_error" }, err);
    }
    if (d.quota !== undefined) o.quotas.setWindow(caller.subject, req.intent, d.quota.window_seconds, nowMs);
    audit(create(PolicyDecisionSchema, {
      allow: d.allow,
      reasons: d.reasons.map((r) => ({ code: r.code, message: r.message })),
      requiresApproval: d.requires_approval,
      revision: d.revision || o.engine.revision,
    }));

    switch (outcomeOf(d)) {
      case "allow": {
        // Counted before the call runs (no await since the usage was read), so
        // concurrent calls cannot all pass on the same count.
        o.quotas.countCall(caller.subject, req.intent, nowMs);
        const response = (await next(call)) as DelegateResponse;
        o.quotas.addSpend(caller.subject, req.intent, Number(response.result?.cost?.moneyMicros ?? 0n), now());
        return response;
      }
      case "approval":
        return next(call);
      case "deny": {
        const refusal = policyRefusal(d, { usage, retryAfterMs: o.quotas.retryAfterMs(caller.subject, req.intent, nowMs) });
        refused(errorDetailOf(refusal)?.reason ?? "policy_denied");
        throw refusal;
      }
    }
  };
}
