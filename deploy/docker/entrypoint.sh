#!/bin/sh
# Entry point of the agentmesh image: runs one service, named by the first
# argument, the way `agentmesh up` runs it (node --import tsx <entry>).
#
#   docker run agentmesh:0.1.0 gateway
#   docker run agentmesh:0.1.0 summarizer     # any services/<name>/main.ts
set -eu

service="${1:-}"
case "$service" in
  gateway) entry=gateway/main.ts ;;
  '' | *[!a-z0-9-]*) entry= ;;
  *) entry="services/$service/main.ts" ;;
esac
if [ -z "$entry" ] || [ ! -f "$entry" ]; then
  echo "usage: <service>, one of: gateway $(cd services && for d in */; do [ -f "$d/main.ts" ] && printf '%s ' "${d%/}"; done)" >&2
  exit 64
fi
shift
# exec: node is PID 1 and gets SIGTERM itself (graceful shutdown, mesh/run-until-signal.ts).
exec node --import tsx "$entry" "$@"
