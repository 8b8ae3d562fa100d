package agentmesh.quotas_test

import data.agentmesh.quotas

_config := {"quotas": {
	"default": {"window_seconds": 60, "max_calls": 10, "max_spend_micros": 1000},
	"by_intent": {"slow.thing": {"window_seconds": 3600, "max_calls": 2}},
}}

_base := {
	"caller": {"subject": "alice", "role": "supervisor"},
	"request": {"intent": "fast.thing"},
	"usage": {"window_seconds": 60, "calls": 0, "spend_micros": 0},
}

_deny(overrides) := d if {
	d := quotas.deny with input as object.union(_base, overrides) with data.agentmesh.config as _config
}

test_allow_under_the_default_quota if {
	_deny({"usage": {"calls": 9, "spend_micros": 999}}) == set()
}

test_allow_default_quota_for_an_intent_without_its_own if {
	q := quotas.quota with input as _base with data.agentmesh.config as _config
	q == {"window_seconds": 60, "max_calls": 10, "max_spend_micros": 1000}
}

test_allow_intent_quota_overrides_the_defaults_fields if {
	q := quotas.quota with input as object.union(_base, {"request": {"intent": "slow.thing"}}) with data.agentmesh.config as _config
	q == {"window_seconds": 3600, "max_calls": 2, "max_spend_micros": 1000}
}

test_allow_usage_missing_counts_as_none if {
	d := quotas.deny with input as {"request": {"intent": "fast.thing"}} with data.agentmesh.config as _config
	d == set()
}

test_deny_calls_at_the_limit if {
	_deny({"usage": {"calls": 10}}) == {{
		"code": "quota_exceeded",
		"message": "alice made 10 calls to fast.thing in the last 60 s; the limit is 10",
		"status": "RESOURCE_EXHAUSTED",
	}}
}

test_deny_spend_at_the_limit if {
	_deny({"usage": {"spend_micros": 1500}}) == {{
		"code": "quota_exceeded",
		"message": "alice spent 1500 micros on fast.thing in the last 60 s; the limit is 1000",
		"status": "RESOURCE_EXHAUSTED",
	}}
}

test_deny_calls_and_spend_over_an_intent_quota if {
	_deny({"request": {"intent": "slow.thing"}, "usage": {"window_seconds": 3600, "calls": 2, "spend_micros": 1000}}) == {
		{"code": "quota_exceeded", "message": "alice made 2 calls to slow.thing in the last 3600 s; the limit is 2", "status": "RESOURCE_EXHAUSTED"},
		{"code": "quota_exceeded", "message": "alice spent 1000 micros on slow.thing in the last 3600 s; the limit is 1000", "status": "RESOURCE_EXHAUSTED"},
	}
}

test_deny_message_names_the_quota_window_when_usage_has_none if {
	d := quotas.deny with input as {"caller": {"subject": "bob"}, "request": {"intent": "slow.thing"}, "usage": {"calls": 5}}
		with data.agentmesh.config as _config
	d == {{
		"code": "quota_exceeded",
		"message": "bob made 5 calls to slow.thing in the last 3600 s; the limit is 2",
		"status": "RESOURCE_EXHAUSTED",
	}}
}
