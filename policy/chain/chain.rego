# METADATA
# title: Chain limits
# description: |
#   Conditions on the delegation chain that refuse a call: a cycle (the target
#   agent already runs the same intent on this chain) and a used-up budget. The
#   depth cap asks for approval instead; it lives in agentmesh.approvals.
package agentmesh.chain

import data.agentmesh.reasons
import data.agentmesh.settings

_intent_name := object.get(input, ["request", "intent"], "")

_intent := object.get(settings.intents, _intent_name, {})

# METADATA
# title: deny
# description: Chain reasons to refuse the call (reason objects).
# scope: document
deny contains reasons.reason("chain_cycle", msg) if {
	target := object.get(input, ["target", "agent"], "")
	target != ""
	some hop in object.get(input, ["chain", "hops"], [])
	hop.agent == target
	hop.intent == _intent_name
	msg := sprintf("delegation cycle: %s is already executing %s on this chain", [target, _intent_name])
}

deny contains reasons.reason("budget_exhausted", msg) if {
	some budget in _budgets
	budget.left <= 0
	msg := sprintf("the chain's %s budget is used up (%d %s left)", [budget.name, budget.left, budget.unit])
}

deny contains reasons.reason("budget_exhausted", msg) if {
	some budget in _budgets
	budget.left > 0
	budget.left < budget.minimum
	msg := sprintf("the chain has %d %s left, below the %d %s %s needs", [budget.left, budget.unit, budget.minimum, budget.unit, _intent_name])
}

# The budgets the chain caps (null: no cap), with the intent's minimum of each.
_budgets contains {"name": "money", "unit": "micros", "left": left, "minimum": object.get(_intent, "min_budget_micros", 0)} if {
	left := object.get(input, ["chain", "budget", "money_micros"], null)
	is_number(left)
}

_budgets contains {"name": "token", "unit": "tokens", "left": left, "minimum": object.get(_intent, "min_tokens", 0)} if {
	left := object.get(input, ["chain", "budget", "tokens"], null)
	is_number(left)
}
