#!/usr/bin/env bash
# Prints the bin directory of an installed Node.js from scripts/node-versions (installing it when
# missing): `scripts/node-bin.sh 24` -> .../.tools/node/24.22.3/bin. No argument: the default (first line).
set -euo pipefail
cd "$(dirname "$0")/.."
readonly TOOLS=${DEFROST_NODE_DIR:-$PWD/.tools/node}
want=${1:-}
version=$(awk -v want="$want" '!/^#/ && NF { if (want == "" || $1 == want || index($1, want ".") == 1) { print $1; exit } }' scripts/node-versions)
if [[ -z $version ]]; then
  echo "node-bin: no Node.js '$want' in scripts/node-versions (listed: $(awk '!/^#/ && NF {printf "%s ", $1}' scripts/node-versions))" >&2
  exit 2
fi
bash scripts/install-node.sh "$version"
printf '%s\n' "$TOOLS/$version/bin"
