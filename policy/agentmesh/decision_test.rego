package agentmesh_test

# Whole decisions against the shipped data (policy/data), for the demo agents and
# the integration tests' intents.

import data.agentmesh

_revision := data.agentmesh.config.revision

_default_quota := {"window_seconds": 60, "max_calls": 120, "max_spend_micros": 50000000}

_launch_quota := {"window_seconds": 60, "max_calls": 30, "max_spend_micros": 50000000}

_publish_quota := {"window_seconds": 3600, "max_calls": 20, "max_spend_micros": 5000000}

# alice, a person with the supervisor role, launches a campaign through the gateway.
_base := {
	"now_ms": 1795564521000,
	"service": {"name": "gateway", "kind": "gateway"},
	"caller": {"subject": "alice", "role": "supervisor"},
	"target": {"agent": ""},
	"request": {
		"task_id": "job-1",
		"intent": "campaign.launch",
		"input_digest": "sha256:00",
		"data_class": "unspecified",
		"allowed_tools": [],
		"max_cost_micros": 0,
		"max_tokens": 0,
	},
	"chain": {"depth": 0, "hops": [], "budget": {"money_micros": null, "tokens": null}},
	"usage": {"window_seconds": 60, "calls": 0, "spend_micros": 0},
	"approval": {"granted": false, "approver": ""},
	"flags": {},
}

# The supervisor agent's step of job-1, as the agent `at` sees it.
_from_supervisor(at, intent) := object.union(_base, {
	"service": {"name": at, "kind": "agent"},
	"caller": {"subject": "supervisor", "role": "supervisor", "via": "gateway"},
	"target": {"agent": at},
	"request": {"task_id": "job-1.step", "intent": intent},
	"chain": {"depth": 1, "hops": [{"agent": "supervisor", "intent": "campaign.launch", "task_id": "job-1"}]},
})

_allowed(quota) := {"allow": true, "requires_approval": false, "reasons": [], "quota": quota, "revision": _revision}

_held(reasons, quota) := {"allow": false, "requires_approval": true, "reasons": reasons, "quota": quota, "revision": _revision}

_refused(reasons, quota) := {"allow": false, "requires_approval": false, "reasons": reasons, "quota": quota, "revision": _revision}

_approved := {"approval": {"granted": true, "approver": "erin"}}

test_allow_person_launches_a_campaign_at_the_gateway if {
	d := agentmesh.decision with input as _base
	d == _allowed(_launch_quota)
}

test_allow_supervisor_launches_a_campaign_at_itself if {
	req := object.union(_base, {"service": {"name": "supervisor", "kind": "agent"}, "target": {"agent": "supervisor"}, "caller": {"via": "gateway"}})
	d := agentmesh.decision with input as req
	d == _allowed(_launch_quota)
}

test_allow_supervisor_delegates_copy_at_the_gateway_and_the_copywriter if {
	at_gateway := object.union(_from_supervisor("copywriter", "copy.draft"), {"service": {"name": "gateway", "kind": "gateway"}, "target": {"agent": ""}})
	d := agentmesh.decision with input as at_gateway
	d == _allowed(_default_quota)
	d2 := agentmesh.decision with input as _from_supervisor("copywriter", "copy.draft")
	d2 == _allowed(_default_quota)
}

test_allow_copywriter_delegates_a_summary_at_the_summarizer if {
	req := object.union(_base, {
		"service": {"name": "summarizer", "kind": "agent"},
		"caller": {"subject": "copywriter", "role": "worker", "via": "gateway"},
		"target": {"agent": "summarizer"},
		"request": {"intent": "docs.summarize"},
		"chain": {"depth": 2, "hops": [
			{"agent": "supervisor", "intent": "campaign.launch", "task_id": "job-1"},
			{"agent": "copywriter", "intent": "copy.draft", "task_id": "job-1.draft"},
		]},
	})
	d := agentmesh.decision with input as req
	d == _allowed(_default_quota)
}

test_allow_segmentation_while_its_flag_is_on if {
	d := agentmesh.decision with input as _from_supervisor("segmenter", "leads.segment")
	d == _allowed(_default_quota)
}

test_allow_confidential_leads_to_the_segmenter if {
	req := object.union(_from_supervisor("segmenter", "leads.segment"), {"request": {"data_class": "confidential"}})
	d := agentmesh.decision with input as req
	d == _allowed(_default_quota)
}

test_deny_segmentation_waits_for_approval_when_its_flag_is_off if {
	d := agentmesh.decision with input as _from_supervisor("segmenter", "leads.segment")
		with data.agentmesh.config.flags.autonomous_segmentation as false
	d == _held(
		[{"code": "approval_required", "message": "leads.segment is a mixed-risk intent and its flag autonomous_segmentation is off: it runs only with a human approval"}],
		_default_quota,
	)
}

test_deny_publishing_waits_for_approval if {
	d := agentmesh.decision with input as _from_supervisor("publisher", "content.publish")
	d == _held(
		[{"code": "approval_required", "message": "content.publish is a high-risk intent: it runs only with a human approval"}],
		_publish_quota,
	)
}

test_allow_publishing_with_an_approval if {
	d := agentmesh.decision with input as object.union(_from_supervisor("publisher", "content.publish"), _approved)
	d == _allowed(_publish_quota)
}

test_deny_publishing_confidential_data_even_with_an_approval if {
	req := object.union(_from_supervisor("publisher", "content.publish"), object.union(_approved, {"request": {"data_class": "confidential"}}))
	d := agentmesh.decision with input as req
	d == _refused(
		[{"code": "data_class_not_allowed", "message": "data class confidential is above internal, the most content.publish may handle", "status": "PERMISSION_DENIED"}],
		_publish_quota,
	)
}

test_deny_refusal_wins_over_approval if {
	req := object.union(_from_supervisor("publisher", "content.publish"), {"usage": {"window_seconds": 3600, "calls": 20}})
	d := agentmesh.decision with input as req
	d == _refused(
		[
			{"code": "quota_exceeded", "message": "supervisor made 20 calls to content.publish in the last 3600 s; the limit is 20", "status": "RESOURCE_EXHAUSTED"},
			{"code": "approval_required", "message": "content.publish is a high-risk intent: it runs only with a human approval"},
		],
		_publish_quota,
	)
}

test_deny_worker_person_may_not_launch_campaigns if {
	req := object.union(_base, {"caller": {"subject": "bob", "role": "worker"}})
	d := agentmesh.decision with input as req
	d == _refused(
		[{"code": "scope_missing", "message": "bob lacks scope campaign:plan required by campaign.launch", "status": "PERMISSION_DENIED"}],
		_launch_quota,
	)
}

test_deny_worker_agent_may_not_publish_even_with_an_approval if {
	req := object.union(_base, object.union(_approved, {"caller": {"subject": "copywriter", "role": "worker"}, "request": {"intent": "content.publish"}}))
	d := agentmesh.decision with input as req
	d == _refused(
		[{"code": "scope_missing", "message": "copywriter lacks scope content:publish required by content.publish", "status": "PERMISSION_DENIED"}],
		_publish_quota,
	)
}

test_deny_roles_that_do_not_delegate if {
	every role in ["auditor", "approver", "gateway"] {
		d := agentmesh.decision with input as object.union(_base, {"caller": {"subject": "carol", "role": role}})
		d == _refused(
			[
				{"code": "role_not_allowed", "message": sprintf("role %s may not delegate tasks", [role]), "status": "PERMISSION_DENIED"},
				{"code": "scope_missing", "message": "carol lacks scope campaign:plan required by campaign.launch", "status": "PERMISSION_DENIED"},
			],
			_launch_quota,
		)
	}
}

test_deny_unclassified_intent if {
	req := object.union(_base, {"request": {"intent": "legal.sign"}})
	d := agentmesh.decision with input as req
	d == _refused(
		[{"code": "intent_unknown", "message": "intent legal.sign is not classified in policy data; new domains are refused until classified", "status": "PERMISSION_DENIED"}],
		_default_quota,
	)
}

test_deny_agent_not_in_data_serving_an_intent_with_tools if {
	# a stand-in agent offering copy.draft holds none of the copywriter's tool scopes
	d := agentmesh.decision with input as _from_supervisor("worker-stand-in", "copy.draft")
	d == _refused(
		[
			{"code": "tool_not_in_scope", "message": "agent worker-stand-in lacks scope tool:template.render for tool template.render, which copy.draft uses", "status": "PERMISSION_DENIED"},
			{"code": "tool_not_in_scope", "message": "agent worker-stand-in lacks scope tool:text.check-length for tool text.check-length, which copy.draft uses", "status": "PERMISSION_DENIED"},
		],
		_default_quota,
	)
}

test_deny_tools_the_request_does_not_allow if {
	req := object.union(_from_supervisor("copywriter", "copy.draft"), {"request": {"allowed_tools": ["template.render"]}})
	d := agentmesh.decision with input as req
	d == _refused(
		[{"code": "tool_not_allowed", "message": "the request's allowed tools exclude text.check-length, which copy.draft uses", "status": "PERMISSION_DENIED"}],
		_default_quota,
	)
}

test_deny_used_up_budget if {
	req := object.union(_from_supervisor("copywriter", "copy.draft"), {"chain": {"budget": {"money_micros": 0, "tokens": 900}}})
	d := agentmesh.decision with input as req
	d == _refused(
		[{"code": "budget_exhausted", "message": "the chain's money budget is used up (0 micros left)", "status": "FAILED_PRECONDITION"}],
		_default_quota,
	)
}

# The integration tests' intents: a person (alice, supervisor) and a test agent
# (worker-a, worker role, not in data) may run them on any test agent.

test_allow_test_intents_for_a_person_at_a_test_agent if {
	every intent in ["test.echo", "test.sleep", "test.relay", "test.fail", "test.stubborn"] {
		req := object.union(_base, {"service": {"name": "worker-a", "kind": "agent"}, "target": {"agent": "worker-a"}, "request": {"intent": intent}})
		d := agentmesh.decision with input as req
		d == _allowed(_default_quota)
	}
}

test_allow_test_agent_relays_onward if {
	req := object.union(_base, {
		"service": {"name": "worker-a", "kind": "agent"},
		"caller": {"subject": "worker-a", "role": "worker", "via": "gateway"},
		"target": {"agent": "worker-a"},
		"request": {"intent": "test.echo"},
		"chain": {"depth": 1, "hops": [{"agent": "worker-a", "intent": "test.relay", "task_id": "r-1"}]},
	})
	d := agentmesh.decision with input as req
	d == _allowed(_default_quota)
}

test_deny_test_relay_cycle if {
	req := object.union(_base, {
		"service": {"name": "worker-a", "kind": "agent"},
		"caller": {"subject": "worker-a", "role": "worker", "via": "gateway"},
		"target": {"agent": "worker-a"},
		"request": {"intent": "test.relay"},
		"chain": {"depth": 1, "hops": [{"agent": "worker-a", "intent": "test.relay", "task_id": "r-1"}]},
	})
	d := agentmesh.decision with input as req
	d == _refused(
		[{"code": "chain_cycle", "message": "delegation cycle: worker-a is already executing test.relay on this chain", "status": "FAILED_PRECONDITION"}],
		_default_quota,
	)
}

test_deny_chain_deeper_than_the_cap_waits_for_approval if {
	req := object.union(_base, {"request": {"intent": "test.echo"}, "chain": {"depth": 4}})
	d := agentmesh.decision with input as req
	d == _held(
		[{"code": "approval_required", "message": "the chain is 4 hops deep, over the cap of 3: it goes on only with a human approval"}],
		_default_quota,
	)
	d2 := agentmesh.decision with input as object.union(req, _approved)
	d2 == _allowed(_default_quota)
	d3 := agentmesh.decision with input as object.union(req, {"chain": {"depth": 3}})
	d3 == _allowed(_default_quota)
}

test_deny_confidential_data_to_a_test_intent if {
	req := object.union(_base, {"request": {"intent": "test.echo", "data_class": "confidential"}})
	d := agentmesh.decision with input as req
	d == _refused(
		[{"code": "data_class_not_allowed", "message": "data class confidential is above internal, the most test.echo may handle", "status": "PERMISSION_DENIED"}],
		_default_quota,
	)
}

test_deny_reasons_in_their_fixed_order if {
	req := object.union(_base, {
		"service": {"name": "worker-a", "kind": "agent"},
		"caller": {"subject": "dan", "role": "auditor"},
		"target": {"agent": "worker-a"},
		"request": {"intent": "content.publish", "allowed_tools": ["outbox.write"], "data_class": "restricted"},
		"chain": {"depth": 5, "hops": [{"agent": "worker-a", "intent": "content.publish", "task_id": "p-1"}], "budget": {"tokens": 0}},
		"usage": {"window_seconds": 3600, "calls": 25, "spend_micros": 0},
	})
	d := agentmesh.decision with input as req
	d == _refused(
		[
			{"code": "role_not_allowed", "message": "role auditor may not delegate tasks", "status": "PERMISSION_DENIED"},
			{"code": "scope_missing", "message": "dan lacks scope content:publish required by content.publish", "status": "PERMISSION_DENIED"},
			{"code": "tool_not_in_scope", "message": "agent worker-a lacks scope tool:outbox.verify for tool outbox.verify, which content.publish uses", "status": "PERMISSION_DENIED"},
			{"code": "tool_not_in_scope", "message": "agent worker-a lacks scope tool:outbox.write for tool outbox.write, which content.publish uses", "status": "PERMISSION_DENIED"},
			{"code": "tool_not_allowed", "message": "the request's allowed tools exclude outbox.verify, which content.publish uses", "status": "PERMISSION_DENIED"},
			{"code": "data_class_not_allowed", "message": "data class restricted is above internal, the most content.publish may handle", "status": "PERMISSION_DENIED"},
			{"code": "chain_cycle", "message": "delegation cycle: worker-a is already executing content.publish on this chain", "status": "FAILED_PRECONDITION"},
			{"code": "budget_exhausted", "message": "the chain's token budget is used up (0 tokens left)", "status": "FAILED_PRECONDITION"},
			{"code": "quota_exceeded", "message": "dan made 25 calls to content.publish in the last 3600 s; the limit is 20", "status": "RESOURCE_EXHAUSTED"},
			{"code": "approval_required", "message": "content.publish is a high-risk intent: it runs only with a human approval"},
			{"code": "approval_required", "message": "the chain is 5 hops deep, over the cap of 3: it goes on only with a human approval"},
		],
		_publish_quota,
	)
}

test_deny_is_still_a_decision_without_data_or_input if {
	d := agentmesh.decision with input as {} with data.agentmesh.config as {}
	d2 := agentmesh.decision with input as {} with data.agentmesh.config as null
	d == d2
	d == {
		"allow": false,
		"requires_approval": false,
		"reasons": [
			{"code": "role_not_allowed", "message": "role  is not defined in policy data, so it may not delegate tasks", "status": "PERMISSION_DENIED"},
			{"code": "intent_unknown", "message": "intent  is not classified in policy data; new domains are refused until classified", "status": "PERMISSION_DENIED"},
		],
		"quota": _default_quota,
		"revision": "",
	}
}
