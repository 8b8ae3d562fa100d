/**
 * A small policy that keeps the contract (docs/policy-contract.md), built for
 * tests with the project's own pipeline (tools/policy-bundle.ts: the pinned OPA,
 * its Wasm capabilities) into a temporary directory. It knows a few test intents
 * and refuses in each way the mesh must handle:
 *
 * | when | decision |
 * |---|---|
 * | the caller is an auditor | deny `role_not_allowed` (PERMISSION_DENIED) |
 * | the intent is not in data | deny `intent_unknown` (PERMISSION_DENIED) |
 * | at an agent, the caller is "eve" | deny `tool_not_in_scope` (PERMISSION_DENIED) |
 * | calls in the window reach the quota | deny `quota_exceeded` (RESOURCE_EXHAUSTED) |
 * | the chain's money is below the intent's minimum | deny `budget_exhausted` (FAILED_PRECONDITION) |
 * | a high-risk intent without an approval | `requires_approval`, reason `approval_required` |
 * | intent test.malformed | a decision of the wrong shape |
 * | intent test.undefined | no decision |
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { buildPolicyBundle } from "../../tools/policy-bundle.js";
import { createPolicyLayout } from "../../tools/policy-layout.js";
import { repoRoot, toolPath } from "../../tools/tool-path.js";

/** The fixture's Rego (package agentmesh, entry point `decision`). */
export const fixtureRego = `# METADATA
# title: test fixture policy
package agentmesh

_cfg := data.agentmesh.config

_intent := object.get(_cfg.intents, input.request.intent, null)

_quota := object.get(_cfg.quotas.by_intent, input.request.intent, _cfg.quotas.default)

_reason(code, message, status) := {"code": code, "message": message, "status": status}

_deny contains _reason("role_not_allowed", sprintf("role %s may not delegate", [input.caller.role]), "PERMISSION_DENIED") if {
\tinput.caller.role == "auditor"
}

_deny contains _reason("intent_unknown", sprintf("intent %s is not classified", [input.request.intent]), "PERMISSION_DENIED") if {
\t_intent == null
}

_deny contains _reason("tool_not_in_scope", sprintf("%s lacks tool:outbox.write at %s", [input.caller.subject, input.target.agent]), "PERMISSION_DENIED") if {
\tinput.service.kind == "agent"
\tinput.caller.subject == "eve"
}

_deny contains _reason("quota_exceeded", sprintf("%s used %d of %d calls of %s in %d s", [input.caller.subject, input.usage.calls, _quota.max_calls, input.request.intent, _quota.window_seconds]), "RESOURCE_EXHAUSTED") if {
\tinput.usage.calls >= _quota.max_calls
}

_deny contains _reason("budget_exhausted", sprintf("%s needs %d micros on the chain", [input.request.intent, _intent.min_budget_micros]), "FAILED_PRECONDITION") if {
\tinput.chain.budget.money_micros != null
\tinput.chain.budget.money_micros < _intent.min_budget_micros
}

_approval contains {"code": "approval_required", "message": sprintf("%s is high risk", [input.request.intent])} if {
\t_intent.risk == "high"
\tnot input.approval.granted
}

default _allow := false

_allow if {
\tcount(_deny) == 0
\tcount(_approval) == 0
}

default _requires_approval := false

_requires_approval if count(_approval) > 0

_special := {"test.malformed", "test.undefined"}

decision := {
\t"allow": _allow,
\t"requires_approval": _requires_approval,
\t"reasons": array.concat([r | some r in _deny], [r | some r in _approval]),
\t"quota": _quota,
\t"revision": _cfg.revision,
} if {
\tnot input.request.intent in _special
}

decision := {"allow": "yes", "reasons": []} if input.request.intent == "test.malformed"
`;

/** The fixture's data (`data.agentmesh.config`) at `revision`. */
export function fixtureData(revision: string, maxCalls = 3): Record<string, unknown> {
  return {
    revision,
    intents: {
      "test.echo": { risk: "low", min_budget_micros: 0 },
      "test.sleep": { risk: "low", min_budget_micros: 0 },
      "test.relay": { risk: "low", min_budget_micros: 0 },
      "test.publish": { risk: "high", min_budget_micros: 0 },
      "test.costly": { risk: "low", min_budget_micros: 1000 },
    },
    quotas: {
      default: { window_seconds: 60, max_calls: 1000, max_spend_micros: 50_000_000 },
      by_intent: { "test.echo": { window_seconds: 10, max_calls: maxCalls, max_spend_micros: 1_000_000 } },
    },
  };
}

/** Options of `buildFixturePolicy`. */
export interface FixtureBuild {
  /** The Rego; default `fixtureRego`. */
  readonly rego?: string;
  /** The one entry point compiled; default agentmesh/decision. */
  readonly entrypoint?: string;
}

/**
 * Writes a policy directory under `root` (the Rego as policy.rego, `data` as
 * `data.agentmesh.config`) and builds it into `root/build`, which it returns.
 * Builds again into the same directory to change a running service's bundle.
 */
export async function buildFixturePolicy(root: string, data: Record<string, unknown>, build: FixtureBuild = {}): Promise<string> {
  const dataPath = join(root, "data", "agentmesh", "config", "data.json");
  mkdirSync(dirname(dataPath), { recursive: true });
  writeFileSync(join(root, "policy.rego"), build.rego ?? fixtureRego);
  writeFileSync(dataPath, JSON.stringify(data));
  const layout = createPolicyLayout(repoRoot, root);
  if (build.entrypoint !== undefined) layout.entrypoints = [build.entrypoint];
  await buildPolicyBundle({ opa: await toolPath("opa", { progress: null }), layout });
  return layout.buildDir;
}
