package agentmesh.settings_test

import data.agentmesh.settings

test_allow_defaults_when_data_is_empty if {
	defaults := {
		"revision": settings.revision,
		"roles": settings.roles,
		"agents": settings.agents,
		"intents": settings.intents,
		"flags": settings.flags,
		"default_quota": settings.default_quota,
		"intent_quotas": settings.intent_quotas,
		"max_depth": settings.max_depth,
		"default_data_class": settings.default_data_class,
		"default_agent_role": settings.default_agent_role,
		"tool_scope": settings.tool_scope("csv.parse"),
	} with data.agentmesh.config as {}
	defaults == {
		"revision": "",
		"roles": {},
		"agents": {},
		"intents": {},
		"flags": {},
		"default_quota": {"window_seconds": 60, "max_calls": 120, "max_spend_micros": 50000000},
		"intent_quotas": {},
		"max_depth": 3,
		"default_data_class": "internal",
		"default_agent_role": "worker",
		"tool_scope": "tool:csv.parse",
	}
}

test_allow_settings_read_from_data if {
	config := {
		"revision": "r-9",
		"chain": {"max_depth": 5},
		"default_data_class": "public",
		"tools": {"csv.parse": {"scope": "tool:csv"}},
		"quotas": {"default": {"window_seconds": 10, "max_calls": 1, "max_spend_micros": 2}, "by_intent": {"a.b": {"max_calls": 3}}},
	}
	got := [
		settings.revision,
		settings.max_depth,
		settings.default_data_class,
		settings.tool_scope("csv.parse"),
		settings.default_quota,
		settings.intent_quotas,
	] with data.agentmesh.config as config
	got == ["r-9", 5, "public", "tool:csv", {"window_seconds": 10, "max_calls": 1, "max_spend_micros": 2}, {"a.b": {"max_calls": 3}}]
}

test_allow_flag_on_only_when_true if {
	on := {name | some name in ["on", "off", "text", "missing"]; settings.flag_on(name)} with data.agentmesh.config as {"flags": {"on": true, "off": false, "text": "true"}}
	on == {"on"}
}

test_allow_shipped_data_is_in_place if {
	settings.revision != ""
	count(settings.intents) > 0
}

test_allow_tool_scope_of_a_tool_that_is_not_a_string if {
	# What sprintf makes of it, as before concat took over for strings.
	settings.tool_scope(7) == sprintf("tool:%s", [7]) with data.agentmesh.config as {}
	settings.tool_scope(true) == "tool:true" with data.agentmesh.config as {"tools": {}}
}
