#!/usr/bin/env bash
# Installs one Go-built tool the project pins, and prints the binary's path.
#
#   scripts/install-tool.sh <name>        e.g. scripts/install-tool.sh opa
#
# Each tool is a tiny Go module, tools/<name>/go.mod, whose `tool` directive names
# the package to build and whose require list (checksummed in go.sum) pins its
# version. Nothing tool-specific lives in this script. The binary goes to a cache
# outside the checkout, so every clone on the machine reuses it:
#
#   ${AGENTMESH_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentmesh/tools}/
#     <name>/<version>-<first 12 hex of sha256(go.mod + go.sum)>/<name>
#
# A cached binary is used as is (Go is not needed then). Otherwise the tool is
# built with `go build -trimpath` into a temporary directory that is renamed into
# place only when the build succeeded, so an interrupted build leaves nothing
# that looks installed. Progress goes to stderr; stdout carries only the path.
# Exit status: 0 with the path; 1 on a failed build or bad tool module; 2 on bad
# usage; 3 when Go is needed and missing.
set -euo pipefail

say() { printf 'install-tool: %s\n' "$*" >&2; }
die() {
  local status="$1"
  shift
  say "$@"
  exit "$status"
}

[ "$#" -eq 1 ] || die 2 "usage: scripts/install-tool.sh <name> (one of: $(cd "$(dirname "$0")/../tools" && echo */go.mod | sed 's#/go.mod##g'))"
name="$1"
case "$name" in
  '' | *[!a-z0-9_-]*) die 2 "bad tool name '$name' (expected a directory name under tools/)" ;;
esac

repo="$(cd "$(dirname "$0")/.." && pwd)"
moddir="$repo/tools/$name"
[ -f "$moddir/go.mod" ] && [ -f "$moddir/go.sum" ] ||
  die 2 "no tool '$name': expected tools/$name/go.mod and tools/$name/go.sum"

# The package to build (the single `tool` directive) and the version of the module
# that provides it (the longest required module path that contains the package).
read -r pkg version < <(awk '
  /^[ \t]*\/\// { next }
  /^tool[ \t]*\($/    { block = "tool"; next }
  /^require[ \t]*\($/ { block = "require"; next }
  /^\)/               { block = ""; next }
  $1 == "tool"    && NF >= 2 { tools[++ntools] = $2; next }
  $1 == "require" && NF >= 3 { req[$2] = $3; next }
  block == "tool"    && NF >= 1 { tools[++ntools] = $1; next }
  block == "require" && NF >= 2 { req[$1] = $2; next }
  END {
    if (ntools != 1) { print "- -"; exit }
    pkg = tools[1]; best = ""
    for (m in req)
      if ((pkg == m || index(pkg, m "/") == 1) && length(m) > length(best)) best = m
    print pkg, (best == "" ? "-" : req[best])
  }' "$moddir/go.mod")
[ "$pkg" != "-" ] || die 1 "tools/$name/go.mod must have exactly one 'tool' directive"
[ "$version" != "-" ] || die 1 "tools/$name/go.mod: no required module provides $pkg"

if command -v sha256sum >/dev/null 2>&1; then
  sum() { sha256sum; }
else
  sum() { shasum -a 256; }
fi
hash="$(cat "$moddir/go.mod" "$moddir/go.sum" | sum | cut -c1-12)"

cache="${AGENTMESH_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentmesh/tools}"
dest="$cache/$name/$version-$hash"
bin="$dest/$name"
if [ -x "$bin" ]; then
  printf '%s\n' "$bin"
  exit 0
fi

# Go >= 1.24 reads the `tool` directive; when go.mod asks for a newer Go, the go
# command fetches that toolchain itself (through the module proxy) unless
# GOTOOLCHAIN=local.
needs_go="$(awk '$1 == "go" { print $2; exit }' "$moddir/go.mod")"
command -v go >/dev/null 2>&1 ||
  die 3 "$name $version is not built yet and 'go' is not on PATH: install Go >= 1.24 from https://go.dev/dl/ (tools/$name/go.mod asks for go ${needs_go:-?}, which Go fetches itself unless GOTOOLCHAIN=local), then run scripts/install-tool.sh $name again"

mkdir -p "$cache/$name"
tmp="$(mktemp -d "$cache/$name/.build-XXXXXX")"
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "building $name $version ($pkg) with $(cd "$moddir" && GOWORK=off go env GOVERSION) into $dest (first time only: this can take minutes)"
start=$SECONDS
# -mod=readonly: build exactly what go.mod and go.sum pin, never rewrite them.
# GOWORK=off: a go.work above the checkout must not change the build.
# CGO_ENABLED=0: no C toolchain needed, and a static binary.
if ! (cd "$moddir" && GOWORK=off CGO_ENABLED=0 go build -mod=readonly -trimpath -o "$tmp/$name" "$pkg" >&2); then
  die 1 "building $name $version failed (see the go output above); it needs Go >= 1.24 from https://go.dev/dl/ (go ${needs_go:-?} per tools/$name/go.mod)"
fi

# Rename the finished directory into place. If another run got there first, keep
# its binary: both were built from the same go.mod and go.sum.
if ! mv -T "$tmp" "$dest" 2>/dev/null && ! { [ ! -e "$dest" ] && mv "$tmp" "$dest"; }; then
  [ -x "$bin" ] || die 1 "could not move the built $name into $dest"
fi
say "built $name $version in $((SECONDS - start))s"
printf '%s\n' "$bin"
