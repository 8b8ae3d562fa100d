package agentmesh.reasons_test

import data.agentmesh.reasons

test_deny_reason_carries_the_status_of_its_code if {
	reasons.reason("chain_cycle", "m") == {"code": "chain_cycle", "message": "m", "status": "FAILED_PRECONDITION"}
}

test_allow_approval_reason_has_no_status if {
	reasons.reason("approval_required", "m") == {"code": "approval_required", "message": "m"}
}

test_deny_reasons_sorted_by_code_order_then_message if {
	unsorted := {
		{"code": "approval_required", "message": "a"},
		{"code": "quota_exceeded", "message": "z", "status": "RESOURCE_EXHAUSTED"},
		{"code": "quota_exceeded", "message": "b", "status": "RESOURCE_EXHAUSTED"},
		{"code": "some_new_code", "message": "a"},
		{"code": "role_not_allowed", "message": "y", "status": "PERMISSION_DENIED"},
		{"code": "chain_cycle", "message": "x", "status": "FAILED_PRECONDITION"},
	}
	reasons.sorted(unsorted) == [
		{"code": "role_not_allowed", "message": "y", "status": "PERMISSION_DENIED"},
		{"code": "chain_cycle", "message": "x", "status": "FAILED_PRECONDITION"},
		{"code": "quota_exceeded", "message": "b", "status": "RESOURCE_EXHAUSTED"},
		{"code": "quota_exceeded", "message": "z", "status": "RESOURCE_EXHAUSTED"},
		{"code": "approval_required", "message": "a"},
		{"code": "some_new_code", "message": "a"},
	]
}

test_allow_no_reasons_sort_to_an_empty_array if {
	reasons.sorted(set()) == []
}

test_allow_every_ordered_code_but_approval_has_a_status if {
	{code | some code in reasons.order; not reasons.statuses[code]} == {"approval_required"}
	count(reasons.order) == count(reasons.statuses) + 1
}
