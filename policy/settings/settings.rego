# METADATA
# title: Policy settings
# description: |
#   Reads the policy data document (data.agentmesh.config, from policy/data/) with a
#   default for every setting, so a missing entry never leaves a rule undefined.
#   Tests override the document with `with data.agentmesh.config as ...`.
package agentmesh.settings

# A missing or malformed data document (not an object) leaves every setting at its
# default, so the decision is still an object (it refuses: no role is defined).
default _config := {}

_config := data.agentmesh.config if is_object(data.agentmesh.config)

# METADATA
# title: revision
# description: The revision of the policy data; "" when the data names none.
revision := object.get(_config, "revision", "")

# METADATA
# title: roles
# description: Roles by name, each with `scopes` and `may_delegate`.
roles := object.get(_config, "roles", {})

# METADATA
# title: agents
# description: Agents by name, each with `scopes` and the `role` it runs as (default worker).
agents := object.get(_config, "agents", {})

# METADATA
# title: intents
# description: Classified intents by name, with risk, required scopes, tools, data class and flag.
intents := object.get(_config, "intents", {})

# METADATA
# title: flags
# description: Feature flags by name; a flag is on only when it is `true`.
flags := object.get(_config, "flags", {})

# METADATA
# title: default_quota
# description: The quota that applies to an intent without its own.
default_quota := object.get(_config, ["quotas", "default"], {"window_seconds": 60, "max_calls": 120, "max_spend_micros": 50000000})

# METADATA
# title: intent_quotas
# description: Per-intent quotas; each field given overrides the default's.
intent_quotas := object.get(_config, ["quotas", "by_intent"], {})

# METADATA
# title: max_depth
# description: Hops a chain may have before this one without a human approval.
max_depth := object.get(_config, ["chain", "max_depth"], 3)

# METADATA
# title: default_data_class
# description: The class a request with data class "unspecified" is treated as.
default_data_class := object.get(_config, "default_data_class", "internal")

# METADATA
# title: default_agent_role
# description: The role an agent runs as when its data entry names none (or it has no entry).
default_agent_role := "worker"

# METADATA
# title: flag_on
# description: True when the flag `name` is set to true in data.
flag_on(name) if object.get(flags, name, false) == true

# METADATA
# title: tool_scope
# description: The scope an agent needs to use `tool`; `tool:<name>` unless data says otherwise.
tool_scope(tool) := object.get(_config, ["tools", tool, "scope"], _default_tool_scope(tool))

# object.get evaluates its default on every call, and sprintf is the one builtin
# the Wasm module calls out to the host for (JSON both ways, several µs a call):
# concat builds the same string inside the module. sprintf stays for a tool that
# is not a string, which concat refuses.
_default_tool_scope(tool) := concat("", ["tool:", tool]) if is_string(tool)

_default_tool_scope(tool) := sprintf("tool:%s", [tool]) if not is_string(tool)
