package agentmesh_test

# Whole decisions for the campaign-launch saga against the shipped data: who may
# start it, and what its coordinator (subject saga-coordinator, role supervisor,
# the sagas service's own identity) may delegate through the gateway.

import data.agentmesh

_reserve_quota := {"window_seconds": 3600, "max_calls": 30, "max_spend_micros": 5000000}

_schedule_quota := {"window_seconds": 3600, "max_calls": 20, "max_spend_micros": 5000000}

# The coordinator delegates `intent` for saga s-1; `at` is "gateway" or the agent that serves it.
_from_coordinator(at, intent) := object.union(_base, {
	"service": {"name": at, "kind": _kind(at)},
	"caller": object.union({"subject": "saga-coordinator", "role": "supervisor"}, _via(at)),
	"target": {"agent": _target(at)},
	"request": {"task_id": sprintf("s-1.step.%s", [intent]), "intent": intent},
})

_kind(at) := "gateway" if at == "gateway"

_kind(at) := "agent" if at != "gateway"

_via(at) := {} if at == "gateway"

_via(at) := {"via": "gateway"} if at != "gateway"

_target(at) := "" if at == "gateway"

_target(at) := at if at != "gateway"

# alice (role supervisor) starts a saga at the sagas service.
_start(caller) := object.union(_base, {
	"service": {"name": "sagas", "kind": "agent"},
	"caller": caller,
	"target": {"agent": "sagas"},
	"request": {"task_id": "s-1", "intent": "saga.campaign-launch"},
})

test_allow_a_supervisor_starts_the_campaign_launch_saga if {
	d := agentmesh.decision with input as _start({"subject": "alice", "role": "supervisor"})
	d == _allowed(_default_quota)
}

test_deny_a_worker_starts_the_campaign_launch_saga if {
	d := agentmesh.decision with input as _start({"subject": "copywriter", "role": "worker"})
	d == _refused(
		[{"code": "scope_missing", "message": "copywriter lacks scope campaign:plan required by saga.campaign-launch", "status": "PERMISSION_DENIED"}],
		_default_quota,
	)
}

test_deny_an_auditor_starts_a_saga if {
	d := agentmesh.decision with input as _start({"subject": "audrey", "role": "auditor"})
	d == _refused(
		[
			{"code": "role_not_allowed", "message": "role auditor may not delegate tasks", "status": "PERMISSION_DENIED"},
			{"code": "scope_missing", "message": "audrey lacks scope campaign:plan required by saga.campaign-launch", "status": "PERMISSION_DENIED"},
		],
		_default_quota,
	)
}

test_allow_the_coordinator_reserves_budget_while_its_flag_is_on if {
	d := agentmesh.decision with input as _from_coordinator("gateway", "budget.reserve")
	d == _allowed(_reserve_quota)
	d2 := agentmesh.decision with input as _from_coordinator("budgeter", "budget.reserve")
	d2 == _allowed(_reserve_quota)
}

test_deny_budget_reservation_waits_for_approval_when_its_flag_is_off if {
	d := agentmesh.decision with input as _from_coordinator("gateway", "budget.reserve")
		with data.agentmesh.config.flags.autonomous_budget_reservation as false
	d == _held(
		[{"code": "approval_required", "message": "budget.reserve is a mixed-risk intent and its flag autonomous_budget_reservation is off: it runs only with a human approval"}],
		_reserve_quota,
	)
}

test_deny_scheduling_a_publication_waits_for_approval if {
	d := agentmesh.decision with input as _from_coordinator("gateway", "publish.schedule")
	d == _held(
		[{"code": "approval_required", "message": "publish.schedule is a high-risk intent: it runs only with a human approval"}],
		_schedule_quota,
	)
}

test_allow_scheduling_a_publication_with_an_approval if {
	d := agentmesh.decision with input as object.union(_from_coordinator("publisher", "publish.schedule"), _approved)
	d == _allowed(_schedule_quota)
}

test_allow_the_coordinator_drafts_and_compensates if {
	every intent in ["campaign.draft", "campaign.withdraw", "budget.release", "publish.unschedule"] {
		d := agentmesh.decision with input as _from_coordinator("gateway", intent)
		d == _allowed(_default_quota)
	}
	every pair in [["copywriter", "campaign.draft"], ["copywriter", "campaign.withdraw"], ["budgeter", "budget.release"], ["publisher", "publish.unschedule"]] {
		d := agentmesh.decision with input as _from_coordinator(pair[0], pair[1])
		d == _allowed(_default_quota)
	}
}

test_deny_an_operator_moves_budget_outside_a_saga if {
	req := object.union(_base, {"request": {"intent": "budget.reserve"}})
	d := agentmesh.decision with input as req
	d == _refused(
		[{"code": "scope_missing", "message": "alice lacks scope budget:reserve required by budget.reserve", "status": "PERMISSION_DENIED"}],
		_reserve_quota,
	)
}

test_deny_the_coordinator_cannot_reach_a_worker_without_its_tool_scope if {
	d := agentmesh.decision with input as _from_coordinator("summarizer", "budget.release")
	d == _refused(
		[{"code": "tool_not_in_scope", "message": "agent summarizer lacks scope tool:ledger.write for tool ledger.write, which budget.release uses", "status": "PERMISSION_DENIED"}],
		_default_quota,
	)
}
