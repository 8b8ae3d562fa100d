package agentmesh.chain_test

import data.agentmesh.chain

_config := {"intents": {
	"a.do": {"risk": "low"},
	"b.do": {"risk": "low", "min_budget_micros": 500, "min_tokens": 100},
}}

_base := {
	"target": {"agent": "alpha"},
	"request": {"intent": "a.do"},
	"chain": {
		"depth": 2,
		"hops": [
			{"agent": "boss", "intent": "plan.do", "task_id": "j-1"},
			{"agent": "alpha", "intent": "b.do", "task_id": "j-2"},
		],
		"budget": {"money_micros": 10, "tokens": null},
	},
}

_deny(overrides) := d if {
	d := chain.deny with input as object.union(_base, overrides) with data.agentmesh.config as _config
}

test_allow_same_agent_with_another_intent if {
	_deny({}) == set()
}

test_allow_same_intent_on_another_agent if {
	_deny({"target": {"agent": "beta"}, "request": {"intent": "b.do"}, "chain": {"budget": {"money_micros": null}}}) == set()
}

test_allow_no_cycle_check_at_the_gateway if {
	# at the gateway the target is not chosen yet ("")
	_deny({"target": {"agent": ""}, "request": {"intent": "b.do"}, "chain": {"budget": {"money_micros": null}}}) == set()
}

test_allow_empty_chain_and_no_budget_caps if {
	d := chain.deny with input as {"target": {"agent": "alpha"}, "request": {"intent": "a.do"}} with data.agentmesh.config as _config
	d == set()
}

test_allow_budget_at_the_intents_minimum if {
	_deny({"target": {"agent": "beta"}, "request": {"intent": "b.do"}, "chain": {"budget": {"money_micros": 500, "tokens": 100}}}) == set()
}

test_deny_cycle_when_the_target_already_runs_the_intent if {
	_deny({"request": {"intent": "b.do"}, "chain": {"budget": {"money_micros": null}}}) == {{
		"code": "chain_cycle",
		"message": "delegation cycle: alpha is already executing b.do on this chain",
		"status": "FAILED_PRECONDITION",
	}}
}

test_deny_money_budget_used_up if {
	_deny({"chain": {"budget": {"money_micros": 0}}}) == {{
		"code": "budget_exhausted",
		"message": "the chain's money budget is used up (0 micros left)",
		"status": "FAILED_PRECONDITION",
	}}
}

test_deny_token_budget_overdrawn if {
	_deny({"chain": {"budget": {"tokens": -5}}}) == {{
		"code": "budget_exhausted",
		"message": "the chain's token budget is used up (-5 tokens left)",
		"status": "FAILED_PRECONDITION",
	}}
}

test_deny_budgets_below_the_intents_minimum if {
	_deny({"target": {"agent": "beta"}, "request": {"intent": "b.do"}, "chain": {"budget": {"money_micros": 499, "tokens": 99}}}) == {
		{"code": "budget_exhausted", "message": "the chain has 499 micros left, below the 500 micros b.do needs", "status": "FAILED_PRECONDITION"},
		{"code": "budget_exhausted", "message": "the chain has 99 tokens left, below the 100 tokens b.do needs", "status": "FAILED_PRECONDITION"},
	}
}
