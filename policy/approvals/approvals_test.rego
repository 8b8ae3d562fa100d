package agentmesh.approvals_test

import data.agentmesh.approvals

_config := {
	"intents": {
		"calm.task": {"risk": "low", "flag": ""},
		"risky.task": {"risk": "high", "flag": ""},
		"grey.task": {"risk": "mixed", "flag": "grey"},
		"grey.unflagged": {"risk": "mixed", "flag": ""},
		"odd.task": {"risk": "extreme"},
		"bare.task": {},
	},
	"flags": {"grey": false},
	"chain": {"max_depth": 2},
}

_base := {
	"request": {"intent": "calm.task"},
	"chain": {"depth": 2},
	"approval": {"granted": false, "approver": ""},
}

_required(overrides) := r if {
	r := approvals.required with input as object.union(_base, overrides) with data.agentmesh.config as _config
}

_granted := {"approval": {"granted": true, "approver": "erin"}}

test_allow_low_risk_within_the_depth_cap if {
	_required({}) == set()
}

test_allow_mixed_risk_with_its_flag_on if {
	r := approvals.required with input as object.union(_base, {"request": {"intent": "grey.task"}})
		with data.agentmesh.config as object.union(_config, {"flags": {"grey": true}})
	r == set()
}

test_allow_high_risk_with_an_approval if {
	_required(object.union({"request": {"intent": "risky.task"}, "chain": {"depth": 9}}, _granted)) == set()
}

test_allow_unknown_intent_needs_no_approval if {
	# authz refuses it; asking a human would be pointless
	_required({"request": {"intent": "nobody.knows"}}) == set()
}

test_deny_high_risk_without_an_approval if {
	_required({"request": {"intent": "risky.task"}}) == {{
		"code": "approval_required",
		"message": "risky.task is a high-risk intent: it runs only with a human approval",
	}}
}

test_deny_unknown_or_missing_risk_class_as_high if {
	_required({"request": {"intent": "odd.task"}}) == {{
		"code": "approval_required",
		"message": "odd.task is a extreme-risk intent: it runs only with a human approval",
	}}
	_required({"request": {"intent": "bare.task"}}) == {{
		"code": "approval_required",
		"message": "bare.task is a high-risk intent: it runs only with a human approval",
	}}
}

test_deny_mixed_risk_with_its_flag_off if {
	_required({"request": {"intent": "grey.task"}}) == {{
		"code": "approval_required",
		"message": "grey.task is a mixed-risk intent and its flag grey is off: it runs only with a human approval",
	}}
}

test_deny_mixed_risk_without_a_flag if {
	_required({"request": {"intent": "grey.unflagged"}}) == {{
		"code": "approval_required",
		"message": "grey.unflagged is a mixed-risk intent and no flag lets it run on its own: it runs only with a human approval",
	}}
}

test_deny_chain_deeper_than_the_cap if {
	_required({"chain": {"depth": 3}}) == {{
		"code": "approval_required",
		"message": "the chain is 3 hops deep, over the cap of 2: it goes on only with a human approval",
	}}
}

test_deny_every_approval_reason_at_once if {
	_required({"request": {"intent": "risky.task"}, "chain": {"depth": 4}}) == {
		{"code": "approval_required", "message": "risky.task is a high-risk intent: it runs only with a human approval"},
		{"code": "approval_required", "message": "the chain is 4 hops deep, over the cap of 2: it goes on only with a human approval"},
	}
}
