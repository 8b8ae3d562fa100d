# METADATA
# title: Approvals
# description: |
#   When a human must approve before a call runs: a high-risk intent (always), a
#   mixed-risk intent whose flag is off, or a chain deeper than the cap. A granted
#   approval for this exact request lifts these; it never lifts a refusal (those
#   come from the other packages, and the decision lets them win).
package agentmesh.approvals

import data.agentmesh.reasons
import data.agentmesh.settings

_intent_name := object.get(input, ["request", "intent"], "")

_granted if object.get(input, ["approval", "granted"], false) == true

# Undefined when the intent is not classified (authz refuses it).
_intent := settings.intents[_intent_name]

# An intent with no risk class is treated as high risk, and so is one with an
# unknown class (fail closed).
_risk := object.get(_intent, "risk", "high")

_autonomous_risks := {"low", "mixed"}

# METADATA
# title: required
# description: Reasons a human approval is needed (reason objects with no status).
# scope: document
required contains reasons.reason("approval_required", msg) if {
	not _granted
	risk := _risk
	not risk in _autonomous_risks
	msg := sprintf("%s is a %s-risk intent: it runs only with a human approval", [_intent_name, risk])
}

required contains reasons.reason("approval_required", msg) if {
	not _granted
	_risk == "mixed"
	flag := object.get(_intent, "flag", "")
	not settings.flag_on(flag)
	msg := sprintf("%s is a mixed-risk intent and %s: it runs only with a human approval", [_intent_name, _flag_state(flag)])
}

required contains reasons.reason("approval_required", msg) if {
	not _granted
	depth := object.get(input, ["chain", "depth"], 0)
	depth > settings.max_depth
	msg := sprintf("the chain is %d hops deep, over the cap of %d: it goes on only with a human approval", [depth, settings.max_depth])
}

_flag_state(flag) := "no flag lets it run on its own" if flag == ""

_flag_state(flag) := sprintf("its flag %s is off", [flag]) if flag != ""
