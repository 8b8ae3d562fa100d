# METADATA
# title: Authorization
# description: |
#   Who may delegate what: the caller's role, the scopes an intent requires of its
#   caller, the tools the serving agent may use, the tools the request allows, the
#   data class, unclassified intents and feature flags.
package agentmesh.authz

import data.agentmesh.reasons
import data.agentmesh.settings

_role := object.get(input, ["caller", "role"], "")

_subject := object.get(input, ["caller", "subject"], "")

_intent_name := object.get(input, ["request", "intent"], "")

# Undefined when the intent is not classified.
_intent := settings.intents[_intent_name]

_data_classes := ["public", "internal", "confidential", "restricted"]

# The index of each class in _data_classes (test_class_rank_follows_data_classes),
# written out: a comprehension would be rebuilt on every evaluation.
_class_rank := {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}

# Scope checks look in the data's scope lists (`in` on an array) rather than
# building sets of scopes on every evaluation.

# METADATA
# title: caller_holds
# description: |
#   True when the caller holds `scope`: its role's scopes, plus the agent's own
#   when the caller's subject names an agent in data.
caller_holds(scope) if scope in _caller_role_scopes

caller_holds(scope) if scope in _caller_own_scopes

_caller_role_scopes := object.get(settings.roles, [_role, "scopes"], [])

_caller_own_scopes := object.get(settings.agents, [_subject, "scopes"], [])

# METADATA
# title: agent_holds
# description: |
#   True when the agent `name` holds `scope` when it serves a call: the scopes of
#   the role it runs as (its data entry's `role`, default worker) plus its own.
#   The input names only the serving agent, not its role, so the role comes from data.
agent_holds(name, scope) if {
	role := object.get(settings.agents, [name, "role"], settings.default_agent_role)
	scope in object.get(settings.roles, [role, "scopes"], [])
}

agent_holds(name, scope) if scope in object.get(settings.agents, [name, "scopes"], [])

_may_delegate if object.get(settings.roles, [_role, "may_delegate"], false) == true

_at_agent if input.service.kind == "agent"

_intent_tools := object.get(_intent, "tools", [])

# METADATA
# title: deny
# description: Authorization reasons to refuse the call (reason objects).
# scope: document
deny contains reasons.reason("role_not_allowed", msg) if {
	settings.roles[_role]
	not _may_delegate
	msg := sprintf("role %s may not delegate tasks", [_role])
}

deny contains reasons.reason("role_not_allowed", msg) if {
	not settings.roles[_role]
	msg := sprintf("role %s is not defined in policy data, so it may not delegate tasks", [_role])
}

deny contains reasons.reason("intent_unknown", msg) if {
	not settings.intents[_intent_name]
	msg := sprintf("intent %s is not classified in policy data; new domains are refused until classified", [_intent_name])
}

deny contains reasons.reason("feature_disabled", msg) if {
	flag := object.get(_intent, "flag", "")
	flag != ""
	object.get(_intent, "risk", "high") != "mixed"
	not settings.flag_on(flag)
	msg := sprintf("intent %s is behind flag %s, which is off", [_intent_name, flag])
}

deny contains reasons.reason("scope_missing", msg) if {
	some scope in object.get(_intent, "required_scopes", [])
	not caller_holds(scope)
	msg := sprintf("%s lacks scope %s required by %s", [_subject, scope, _intent_name])
}

deny contains reasons.reason("tool_not_in_scope", msg) if {
	_at_agent
	agent := input.service.name
	some tool in _intent_tools
	scope := settings.tool_scope(tool)
	not agent_holds(agent, scope)
	msg := sprintf("agent %s lacks scope %s for tool %s, which %s uses", [agent, scope, tool, _intent_name])
}

deny contains reasons.reason("tool_not_allowed", msg) if {
	allowed := object.get(input, ["request", "allowed_tools"], [])
	count(allowed) > 0
	some tool in _intent_tools
	not tool in allowed
	msg := sprintf("the request's allowed tools exclude %s, which %s uses", [tool, _intent_name])
}

deny contains reasons.reason("data_class_not_allowed", msg) if {
	limit := object.get(_intent, "max_data_class", "public")
	_class_rank[_data_class] > object.get(_class_rank, limit, 0)
	msg := sprintf("data class %s is above %s, the most %s may handle", [_data_class_label, limit, _intent_name])
}

deny contains reasons.reason("data_class_not_allowed", msg) if {
	not _class_rank[_data_class]
	msg := sprintf("data class %s is not one of %s", [_data_class, concat(", ", _data_classes)])
}

_requested_class := object.get(input, ["request", "data_class"], "unspecified")

_unspecified := {"", "unspecified"}

_data_class := settings.default_data_class if _requested_class in _unspecified

_data_class := _requested_class if not _requested_class in _unspecified

_data_class_label := sprintf("unspecified (taken as %s)", [_data_class]) if _requested_class in _unspecified

_data_class_label := _requested_class if not _requested_class in _unspecified
