# METADATA
# title: agentmesh
# description: |
#   The one entry point of the policy (docs/policy-contract.md): every service
#   evaluates data.agentmesh.decision for every Delegate call. It gathers the
#   reasons of every concern and decides: any refusal wins; otherwise a needed
#   approval holds the task; otherwise the call runs.
package agentmesh

import data.agentmesh.approvals
import data.agentmesh.authz
import data.agentmesh.chain
import data.agentmesh.quotas
import data.agentmesh.reasons
import data.agentmesh.settings

_denials := (authz.deny | chain.deny) | quotas.deny

default _allow := false

_allow if {
	count(_denials) == 0
	count(approvals.required) == 0
}

default _requires_approval := false

_requires_approval if {
	count(_denials) == 0
	count(approvals.required) > 0
}

# METADATA
# title: decision
# description: |
#   allow, requires_approval, reasons (refusals first, in reasons.order, then
#   approval), the quota the mesh counts against and the data's revision.
# entrypoint: true
decision := {
	"allow": _allow,
	"requires_approval": _requires_approval,
	"reasons": reasons.sorted(_denials | approvals.required),
	"quota": quotas.quota,
	"revision": settings.revision,
}
