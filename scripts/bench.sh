#!/usr/bin/env bash
# `pnpm bench [-- options]`: bootstrap, then the benchmark on one Node.js from scripts/node-versions:
# the default (the first line) unless `--node VERSION` names another (e.g. `--node 22`). Every other
# option goes to the benchmark (benchmarks/src/args.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

version=
args=()
while (($#)); do
  case $1 in
    --node) [[ $# -ge 2 ]] || { echo "bench: --node needs a version, e.g. --node 22" >&2; exit 2; }
            version=$2; shift 2 ;;
    --node=*) version=${1#--node=}; shift ;;
    --) shift ;;
    *) args+=("$1"); shift ;;
  esac
done

bash scripts/bootstrap.sh --bench
bin=$(bash scripts/node-bin.sh "$version")
PATH="$bin:$PATH" exec node benchmarks/dist/bin.js "${args[@]}"
