/**
 * The digest an approval is bound to: the exact request a human looked at. A
 * changed intent, target, input, artifact or budget gives another digest, so an
 * approval cannot be replayed for a different request.
 */
import { createHash } from "node:crypto";
import { toJson } from "@bufbuild/protobuf";
import { ArtifactRefSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { DelegateRequestSchema } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import { canonicalJson } from "../canonical-json.js";
import type { Budget } from "../chain/delegation-chain.js";

/** `sha256:<hex>` of the canonical JSON of `value`. */
export function sha256Digest(value: unknown): string {
  return `sha256:${createHash("sha256").update(canonicalJson(value)).digest("hex")}`;
}

/** Digest of the request's inputs alone (the audit log's `input_digest`). */
export function inputDigest(req: DelegateRequest): string {
  return sha256Digest(req.inputs ?? {});
}

/**
 * Digest of what an approval covers: the intent, the agents it may run on
 * (sorted), the inputs, the artifacts and the budget (the request's own caps and
 * what is left on the chain).
 */
export function approvalDigest(req: DelegateRequest, targets: readonly string[], chainBudget: Budget): string {
  return sha256Digest({
    intent: req.intent,
    targets: [...targets].sort(),
    inputs: req.inputs ?? {},
    artifacts: req.artifacts.map((a) => toJson(ArtifactRefSchema, a)),
    budget: {
      maxCostMicros: String(req.constraints?.maxCostMicros ?? 0n),
      maxTokens: String(req.constraints?.maxTokens ?? 0n),
      chainMoneyMicros: chainBudget.moneyMicros?.toString() ?? null,
      chainTokens: chainBudget.tokens?.toString() ?? null,
    },
  });
}

/** Digest of a whole Delegate request (every field, in proto JSON): what a queued task's hop tokens are bound to. */
export function delegateRequestDigest(req: DelegateRequest): string {
  return sha256Digest(toJson(DelegateRequestSchema, req));
}
