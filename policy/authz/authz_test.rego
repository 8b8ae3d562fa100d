package agentmesh.authz_test

import data.agentmesh.authz

_config := {
	"default_data_class": "internal",
	"roles": {
		"boss": {"may_delegate": true, "scopes": ["plan", "write"]},
		"hand": {"may_delegate": true, "scopes": ["tool:shared"]},
		"reader": {"may_delegate": false, "scopes": ["plan"]},
		"mute": {"scopes": []},
	},
	"agents": {
		"writer": {"role": "hand", "scopes": ["read", "tool:pen"]},
		"lead": {"role": "boss", "scopes": []},
	},
	"intents": {
		"plan.make": {"risk": "low", "required_scopes": ["plan"], "tools": [], "max_data_class": "confidential", "flag": ""},
		"doc.write": {"risk": "low", "required_scopes": ["write", "read"], "tools": ["pen", "shared"], "max_data_class": "internal", "flag": ""},
		"beta.thing": {"risk": "low", "required_scopes": [], "tools": [], "max_data_class": "internal", "flag": "beta"},
		"beta.mixed": {"risk": "mixed", "required_scopes": [], "tools": [], "max_data_class": "internal", "flag": "beta"},
		"bare.intent": {"required_scopes": []},
	},
	"tools": {"pen": {"scope": "tool:pen"}},
	"flags": {"beta": false},
}

_base := {
	"service": {"name": "gateway", "kind": "gateway"},
	"caller": {"subject": "lead", "role": "boss"},
	"target": {"agent": ""},
	"request": {"intent": "plan.make", "data_class": "unspecified", "allowed_tools": []},
}

_input(overrides) := object.union(_base, overrides)

_deny(overrides) := d if {
	d := authz.deny with input as _input(overrides) with data.agentmesh.config as _config
}

test_allow_role_with_the_required_scope if {
	_deny({}) == set()
}

test_allow_agent_scopes_add_to_role_scopes if {
	_deny({"caller": {"subject": "writer", "role": "boss"}, "request": {"intent": "doc.write"}}) == set()
}

test_allow_agent_serving_with_its_own_and_its_roles_tool_scopes if {
	_deny({
		"service": {"name": "writer", "kind": "agent"},
		"caller": {"subject": "writer", "role": "boss"},
		"target": {"agent": "writer"},
		"request": {"intent": "doc.write"},
	}) == set()
}

test_allow_allowed_tools_that_cover_the_intent if {
	_deny({"caller": {"subject": "writer"}, "request": {"intent": "doc.write", "allowed_tools": ["shared", "pen", "other"]}}) == set()
}

test_allow_data_class_up_to_the_intents_maximum if {
	_deny({"request": {"data_class": "confidential"}}) == set()
}

test_allow_flagged_intent_when_its_flag_is_on if {
	d := authz.deny with input as _input({"request": {"intent": "beta.thing"}})
		with data.agentmesh.config as object.union(_config, {"flags": {"beta": true}})
	d == set()
}

test_allow_mixed_intent_with_flag_off_is_not_refused_here if {
	# a mixed-risk intent's flag decides approval (agentmesh.approvals), not refusal
	_deny({"request": {"intent": "beta.mixed"}}) == set()
}

test_deny_role_that_may_not_delegate if {
	_deny({"caller": {"subject": "carol", "role": "reader"}}) == {{
		"code": "role_not_allowed",
		"message": "role reader may not delegate tasks",
		"status": "PERMISSION_DENIED",
	}}
}

test_deny_role_without_may_delegate if {
	_deny({"caller": {"subject": "m", "role": "mute"}, "request": {"intent": "beta.mixed"}}) == {{
		"code": "role_not_allowed",
		"message": "role mute may not delegate tasks",
		"status": "PERMISSION_DENIED",
	}}
}

test_deny_role_not_in_data if {
	_deny({"caller": {"subject": "x", "role": "wizard"}, "request": {"intent": "beta.mixed"}}) == {{
		"code": "role_not_allowed",
		"message": "role wizard is not defined in policy data, so it may not delegate tasks",
		"status": "PERMISSION_DENIED",
	}}
}

test_deny_input_without_a_caller if {
	d := authz.deny with input as {"request": {"intent": "beta.mixed"}} with data.agentmesh.config as _config
	d == {{
		"code": "role_not_allowed",
		"message": "role  is not defined in policy data, so it may not delegate tasks",
		"status": "PERMISSION_DENIED",
	}}
}

test_deny_unknown_intent if {
	_deny({"request": {"intent": "legal.sign"}}) == {{
		"code": "intent_unknown",
		"message": "intent legal.sign is not classified in policy data; new domains are refused until classified",
		"status": "PERMISSION_DENIED",
	}}
}

test_deny_flagged_intent_when_its_flag_is_off if {
	_deny({"request": {"intent": "beta.thing"}}) == {{
		"code": "feature_disabled",
		"message": "intent beta.thing is behind flag beta, which is off",
		"status": "PERMISSION_DENIED",
	}}
}

test_deny_each_missing_scope if {
	_deny({"request": {"intent": "doc.write"}}) == {{
		"code": "scope_missing",
		"message": "lead lacks scope read required by doc.write",
		"status": "PERMISSION_DENIED",
	}}
	_deny({"caller": {"subject": "nobody", "role": "hand"}, "request": {"intent": "doc.write"}}) == {
		{"code": "scope_missing", "message": "nobody lacks scope read required by doc.write", "status": "PERMISSION_DENIED"},
		{"code": "scope_missing", "message": "nobody lacks scope write required by doc.write", "status": "PERMISSION_DENIED"},
	}
}

test_deny_agent_without_the_tool_scopes if {
	_deny({
		"service": {"name": "stranger", "kind": "agent"},
		"caller": {"subject": "writer"},
		"target": {"agent": "stranger"},
		"request": {"intent": "doc.write"},
	}) == {
		{"code": "tool_not_in_scope", "message": "agent stranger lacks scope tool:pen for tool pen, which doc.write uses", "status": "PERMISSION_DENIED"},
		{"code": "tool_not_in_scope", "message": "agent stranger lacks scope tool:shared for tool shared, which doc.write uses", "status": "PERMISSION_DENIED"},
	}
}

test_deny_agent_runs_as_the_role_in_its_data_entry if {
	# lead runs as boss, whose scopes lack tool:shared (which hand, the default role here, has)
	d := authz.deny with input as _input({
		"service": {"name": "lead", "kind": "agent"},
		"caller": {"subject": "writer"},
		"target": {"agent": "lead"},
		"request": {"intent": "doc.write"},
	})
		with data.agentmesh.config as _config
		with data.agentmesh.settings.default_agent_role as "hand"
	d == {
		{"code": "tool_not_in_scope", "message": "agent lead lacks scope tool:pen for tool pen, which doc.write uses", "status": "PERMISSION_DENIED"},
		{"code": "tool_not_in_scope", "message": "agent lead lacks scope tool:shared for tool shared, which doc.write uses", "status": "PERMISSION_DENIED"},
	}
}

test_deny_tool_the_request_does_not_allow if {
	_deny({"caller": {"subject": "writer"}, "request": {"intent": "doc.write", "allowed_tools": ["pen"]}}) == {{
		"code": "tool_not_allowed",
		"message": "the request's allowed tools exclude shared, which doc.write uses",
		"status": "PERMISSION_DENIED",
	}}
}

test_deny_data_class_above_the_intents_maximum if {
	_deny({"request": {"data_class": "restricted"}}) == {{
		"code": "data_class_not_allowed",
		"message": "data class restricted is above confidential, the most plan.make may handle",
		"status": "PERMISSION_DENIED",
	}}
}

test_deny_unspecified_data_class_taken_as_the_default if {
	d := authz.deny with input as _input({"request": {"data_class": "unspecified"}})
		with data.agentmesh.config as object.union(_config, {"default_data_class": "restricted"})
	d == {{
		"code": "data_class_not_allowed",
		"message": "data class unspecified (taken as restricted) is above confidential, the most plan.make may handle",
		"status": "PERMISSION_DENIED",
	}}
}

test_deny_unknown_data_class if {
	_deny({"request": {"data_class": "secret"}}) == {{
		"code": "data_class_not_allowed",
		"message": "data class secret is not one of public, internal, confidential, restricted",
		"status": "PERMISSION_DENIED",
	}}
}

test_deny_intent_without_a_maximum_takes_only_public_data if {
	_deny({"request": {"intent": "bare.intent", "data_class": ""}}) == {{
		"code": "data_class_not_allowed",
		"message": "data class unspecified (taken as internal) is above public, the most bare.intent may handle",
		"status": "PERMISSION_DENIED",
	}}
	_deny({"request": {"intent": "bare.intent", "data_class": "public"}}) == set()
}

test_allow_caller_scopes_are_role_and_agent_scopes if {
	held := {s |
		some s in ["plan", "write", "read", "tool:pen", "tool:shared", "other"]
		authz.caller_holds(s)
	} with input as _input({"caller": {"subject": "writer", "role": "boss"}}) with data.agentmesh.config as _config
	held == {"plan", "write", "read", "tool:pen"}
}

test_allow_agent_scopes_of_an_agent_not_in_data_are_the_default_roles if {
	held := {s |
		some s in ["tool:x", "tool:shared", "tool:pen", "plan"]
		authz.agent_holds("stranger", s)
	} with data.agentmesh.config as object.union(_config, {"roles": {"worker": {"scopes": ["tool:x"]}}})
	held == {"tool:x"}
}

test_allow_agent_scopes_are_its_roles_and_its_own if {
	held := {s |
		some s in ["tool:x", "tool:shared", "tool:pen", "plan", "read"]
		authz.agent_holds("writer", s)
	} with data.agentmesh.config as _config
	held == {"tool:shared", "tool:pen", "read"}
}

test_allow_scopes_given_as_a_non_list_are_none if {
	held := {s |
		some s in ["plan", "tool:pen"]
		authz.caller_holds(s)
	} with input as _input({"caller": {"subject": "writer", "role": "boss"}}) with data.agentmesh.config as object.union(_config, {
		"roles": {"boss": {"may_delegate": true, "scopes": "plan"}},
		"agents": {"writer": {"role": "boss", "scopes": "tool:pen"}},
	})
	held == set()
}

test_class_rank_follows_data_classes if {
	authz._class_rank == {class: i | some i, class in authz._data_classes}
}
