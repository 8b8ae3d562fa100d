# METADATA
# title: Reasons
# description: |
#   Builds every reason object the policy gives and puts reasons in their one
#   deterministic order. The mesh answers a refusal with the first reason's status,
#   so the order says which refusal wins: authorization first (nothing else matters
#   to a caller who may not ask), then chain conditions a retry cannot fix, then
#   the quota a later retry can, and approval last.
package agentmesh.reasons

# METADATA
# title: statuses
# description: The status the mesh answers with, by reason code. approval_required has none (it holds the task instead).
statuses := {
	"role_not_allowed": "PERMISSION_DENIED",
	"intent_unknown": "PERMISSION_DENIED",
	"feature_disabled": "PERMISSION_DENIED",
	"scope_missing": "PERMISSION_DENIED",
	"tool_not_in_scope": "PERMISSION_DENIED",
	"tool_not_allowed": "PERMISSION_DENIED",
	"data_class_not_allowed": "PERMISSION_DENIED",
	"chain_cycle": "FAILED_PRECONDITION",
	"budget_exhausted": "FAILED_PRECONDITION",
	"quota_exceeded": "RESOURCE_EXHAUSTED",
}

# METADATA
# title: order
# description: Every reason code, in the order reasons are listed.
order := [
	"role_not_allowed",
	"intent_unknown",
	"feature_disabled",
	"scope_missing",
	"tool_not_in_scope",
	"tool_not_allowed",
	"data_class_not_allowed",
	"chain_cycle",
	"budget_exhausted",
	"quota_exceeded",
	"approval_required",
]

_rank := {code: i | some i, code in order}

# METADATA
# title: reason
# description: The reason object for `code`, with its status when the code has one.
reason(code, message) := {"code": code, "message": message, "status": statuses[code]}

reason(code, message) := {"code": code, "message": message} if not statuses[code]

# METADATA
# title: sorted
# description: The reasons in `set` as an array, by code order, then message.
sorted(set) := [entry[2] | some entry in sort({[object.get(_rank, r.code, count(order)), r.message, r] | some r in set})]
