# METADATA
# title: Quotas
# description: |
#   Calls and spend per caller × intent over a window. Rego is stateless: the mesh
#   keeps the counters and passes them in `input.usage`; the policy names the quota
#   that applies, and the mesh counts against it.
package agentmesh.quotas

import data.agentmesh.reasons
import data.agentmesh.settings

_intent_name := object.get(input, ["request", "intent"], "")

_subject := object.get(input, ["caller", "subject"], "")

# METADATA
# title: quota
# description: |
#   The quota for the requested intent: the default, with every field the
#   intent's own quota gives overriding it.
quota := object.union(settings.default_quota, object.get(settings.intent_quotas, _intent_name, {}))

_window := object.get(input, ["usage", "window_seconds"], quota.window_seconds)

# METADATA
# title: deny
# description: Quota reasons to refuse the call (reason objects).
# scope: document
deny contains reasons.reason("quota_exceeded", msg) if {
	calls := object.get(input, ["usage", "calls"], 0)
	calls >= quota.max_calls
	msg := sprintf("%s made %d calls to %s in the last %d s; the limit is %d", [_subject, calls, _intent_name, _window, quota.max_calls])
}

deny contains reasons.reason("quota_exceeded", msg) if {
	spend := object.get(input, ["usage", "spend_micros"], 0)
	spend >= quota.max_spend_micros
	msg := sprintf("%s spent %d micros on %s in the last %d s; the limit is %d", [_subject, spend, _intent_name, _window, quota.max_spend_micros])
}
