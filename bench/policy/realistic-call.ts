/**
 * The call the policy benchmark decides on: the supervisor, running the demo's
 * `campaign.launch` (task job-1), delegates `copy.draft` through the gateway, and
 * the copywriter evaluates policy on it (depth 1, a money budget left on the
 * chain, usage counted for supervisor × copy.draft). The inputs are the ones the
 * supervisor's product-launch plan builds from examples/campaign-launch.json.
 *
 * The policy input is not written by hand: `realisticPolicyInput` runs the real
 * policy step once and keeps what it handed the engine, so the benchmark
 * evaluates exactly what the mesh would (mesh/policy/policy-input.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { AuditRecordSchema } from "../../gen/agentmesh/v1/audit_pb.js";
import { createContextValues } from "@connectrpc/connect";
import { DelegateRequestSchema, DelegateResponseSchema, DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateResponse } from "../../gen/agentmesh/v1/delegation_pb.js";
import { DataClass } from "../../gen/agentmesh/v1/task_pb.js";
import { callerKey, chainKey, createLogger, createPolicyInterceptor, createUsageCounters, loadPolicyBundle, traceKey } from "../../mesh/index.js";
import type { AuditLog, ContractDecision, DelegationChain, Identity, MeshCall, MeshHandler, PolicyEngine, PolicyInput, PolicyService, UsageCounters } from "../../mesh/index.js";
import { meshCall } from "../../test/support/mesh-call.js";
import { buildFixturePolicy } from "../../test/support/policy-fixture.js";
import { repoRoot } from "../../tools/index.js";

/** The service that evaluates: the copywriter agent (it also checks its tools' scopes). */
export const copywriter: PolicyService = { name: "copywriter", kind: "agent" };

/** The caller as the copywriter sees it: the supervisor agent, forwarded by the gateway. */
const supervisor: Identity = { subject: "supervisor", role: "supervisor", expiresAt: 4_102_444_800, via: "gateway" };

/** Depth 1: the supervisor's campaign.launch delegates; 5 USD of budget left. */
const chain: DelegationChain = {
  hops: [{ agent: "supervisor", intent: "campaign.launch", taskId: "job-1" }],
  budget: { moneyMicros: 5_000_000n, tokens: undefined },
};

/** What the handler after the policy step answers: a result that cost 1,200 micros. */
const response: DelegateResponse = create(DelegateResponseSchema, { result: { taskId: "job-1.draft", cost: { moneyMicros: 1200n } } });

/** The handler after the policy step: answers at once, so only the step is measured. */
export const answerAtOnce: MeshHandler = () => Promise.resolve(response);

/** A new `MeshCall` for the copy.draft delegation, with the values earlier steps set. */
export function createRealisticCall(): MeshCall {
  const goal = JSON.parse(readFileSync(join(repoRoot, "examples", "campaign-launch.json"), "utf8")) as Record<string, unknown>;
  const brief = Object.fromEntries(["product", "audience", "tone", "channel", "keyMessages", "callToAction"].map((k) => [k, goal[k]]));
  const request = create(DelegateRequestSchema, {
    taskId: "job-1.draft",
    intent: "copy.draft",
    inputs: { brief, documents: goal.documents } as never,
    constraints: { dataClass: DataClass.INTERNAL, allowedTools: ["template.render", "text.check-length"], maxCostMicros: 2_000_000n },
  });
  const values = createContextValues();
  values.set(callerKey, supervisor);
  values.set(chainKey, chain);
  values.set(traceKey, { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", parentSpanId: undefined, sampled: true });
  return meshCall(DelegationService.method.delegate, request, values);
}

/** What the policy step runs on besides the engine. */
export interface StepParts {
  readonly quotas: UsageCounters;
  readonly audit: AuditLog;
  /** The clock, epoch ms. */
  readonly now: () => number;
}

/** The copywriter's policy step over `engine`, in front of `answerAtOnce`. */
export function createRealisticStep(engine: PolicyEngine, parts: StepParts): MeshHandler {
  const step = createPolicyInterceptor({ engine, service: copywriter, logger: createLogger("bench", "error"), ...parts });
  return step(answerAtOnce);
}

/**
 * The policy input the copywriter's policy step builds for the call after three
 * earlier calls (120 micros spent) in the window: it runs the step once over
 * `engine` and returns what the step evaluated.
 */
export async function realisticPolicyInput(engine: PolicyEngine, parts: StepParts): Promise<PolicyInput> {
  let seen: PolicyInput | undefined;
  const recording: PolicyEngine = {
    revision: engine.revision,
    digest: engine.digest,
    evaluate(input) {
      seen = input;
      return engine.evaluate(input);
    },
  };
  const at = parts.now();
  for (let i = 0; i < 3; i++) parts.quotas.countCall(supervisor.subject, "copy.draft", at);
  parts.quotas.addSpend(supervisor.subject, "copy.draft", 120, at);
  await createRealisticStep(recording, parts)(createRealisticCall());
  if (seen === undefined) throw new Error("the policy step did not evaluate the call");
  return seen;
}

/** An audit log that keeps nothing: the step without the cost of auditing. */
export const discardingAuditLog: AuditLog = {
  record: () => create(AuditRecordSchema),
  query: () => [],
  flush: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/** Usage counters and a clock that moves 1 s per reading: windows of 60 s roll over, so no quota is ever reached. */
export function stepParts(audit: AuditLog): StepParts {
  let clock = 1_795_564_521_000;
  return { quotas: createUsageCounters(), audit, now: () => (clock += 1000) };
}

/** A policy whose decision ignores the input: the floor under any policy. */
export const emptyPolicyRego = `package agentmesh

decision := {"allow": true, "requires_approval": false, "reasons": []}
`;

/** The two engines the policy figures compare, and the realistic input both are checked to allow. */
export interface PolicyPair {
  /** The committed bundle (policy/build). */
  readonly real: PolicyEngine;
  /** `emptyPolicyRego`, built now with the pinned OPA. */
  readonly empty: PolicyEngine;
  readonly manifest: { revision: string; digest: string; opa: string };
  readonly input: PolicyInput;
}

/** Loads the committed bundle and builds the empty one under `work`; throws unless both allow the realistic input. */
export async function loadPolicyPair(work: string): Promise<PolicyPair> {
  const realBundle = join(repoRoot, "policy", "build");
  const manifest = JSON.parse(readFileSync(join(realBundle, "manifest.json"), "utf8")) as PolicyPair["manifest"];
  const real = await loadPolicyBundle(realBundle);
  const empty = await loadPolicyBundle(await buildFixturePolicy(join(work, "empty"), { revision: "empty" }, { rego: emptyPolicyRego }));
  const input = await realisticPolicyInput(real, stepParts(discardingAuditLog));
  expectAllow("the committed bundle on the realistic input", real.evaluate(input));
  expectAllow("the empty policy", empty.evaluate(input));
  return { real, empty, manifest, input };
}

function expectAllow(what: string, d: ContractDecision): void {
  if (!d.allow || d.reasons.length > 0) throw new Error(`${what}: expected a plain allow, got ${JSON.stringify(d)}`);
}
