/**
 * Builds the policy input (docs/policy-contract.md, "Input") from what the
 * governance steps before policy verified: the caller, the admitted chain, the
 * request, and an approval the mesh granted. Nothing comes from the request body
 * that the earlier steps did not check.
 */
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import { DataClass } from "../../gen/agentmesh/v1/task_pb.js";
import type { Identity } from "../auth/identity.js";
import type { DelegationChain } from "../chain/delegation-chain.js";
import type { GrantedApproval } from "../context-keys.js";
import type { PolicyInput, PolicyUsage } from "./policy-contract.js";

/** Who evaluates: the gateway, or an agent by name. */
export interface PolicyService {
  readonly name: string;
  readonly kind: "gateway" | "agent";
}

/** What `buildPolicyInput` needs. */
export interface PolicyInputParts {
  readonly nowMs: number;
  readonly service: PolicyService;
  readonly caller: Identity;
  readonly chain: DelegationChain;
  readonly request: DelegateRequest;
  /** `inputDigest(request)`, computed once for the input and the audit record. */
  readonly inputDigest: string;
  readonly usage: PolicyUsage;
  readonly approval: GrantedApproval | undefined;
}

const dataClassNames: Record<DataClass, string> = {
  [DataClass.UNSPECIFIED]: "unspecified",
  [DataClass.PUBLIC]: "public",
  [DataClass.INTERNAL]: "internal",
  [DataClass.CONFIDENTIAL]: "confidential",
  [DataClass.RESTRICTED]: "restricted",
};

/**
 * The contract input for one Delegate call. `target.agent` is the service itself
 * at an agent and "" at the gateway (routing comes after policy). Money and token
 * amounts become JSON numbers, as Rego sees them.
 */
export function buildPolicyInput(p: PolicyInputParts): PolicyInput {
  const { caller, chain, request: req } = p;
  return {
    now_ms: p.nowMs,
    service: { name: p.service.name, kind: p.service.kind },
    caller: caller.via === undefined ? { subject: caller.subject, role: caller.role } : { subject: caller.subject, role: caller.role, via: caller.via },
    target: { agent: p.service.kind === "agent" ? p.service.name : "" },
    request: {
      task_id: req.taskId,
      intent: req.intent,
      input_digest: p.inputDigest,
      data_class: dataClassNames[req.constraints?.dataClass ?? DataClass.UNSPECIFIED] ?? "unspecified",
      allowed_tools: req.constraints?.allowedTools ?? [],
      max_cost_micros: Number(req.constraints?.maxCostMicros ?? 0n),
      max_tokens: Number(req.constraints?.maxTokens ?? 0n),
    },
    chain: {
      depth: chain.hops.length,
      hops: chain.hops.map((h) => ({ agent: h.agent, intent: h.intent, task_id: h.taskId })),
      budget: {
        money_micros: chain.budget.moneyMicros === undefined ? null : Number(chain.budget.moneyMicros),
        tokens: chain.budget.tokens === undefined ? null : Number(chain.budget.tokens),
      },
    },
    usage: p.usage,
    approval: p.approval === undefined ? { granted: false, approver: "" } : { granted: true, approver: p.approval.approver },
    flags: {},
  };
}
