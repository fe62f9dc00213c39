#!/usr/bin/env bash
# `pnpm test`: bootstrap, then the unit tests and the real-CRIU integration tests on every Node.js
# in scripts/node-versions, one version after the other, and the fuzzing of the native launcher.
#
#   DEFROST_TEST_NODES="24 26"    only these versions (prefixes of the listed ones)
#   DEFROST_TEST_SUITES=unit      only the unit tests (or: integration, fuzz, soak, containers)
#   DEFROST_FUZZ_SECONDS=N        time per fuzz target (default 20; packages/cli/native/fuzz/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
nodes=${DEFROST_TEST_NODES:-$(awk '!/^#/ && NF {print $1}' scripts/node-versions)}
suites=${DEFROST_TEST_SUITES:-unit integration fuzz soak containers}
once_on_default_node='soak containers'

# The native launcher's fuzzing (libFuzzer) does not involve Node: once, not per version.
if [[ " $suites " == *" fuzz "* ]]; then
  printf '\n== fuzzing the native launcher\n' >&2
  bash packages/cli/native/fuzz/run.sh
fi

for version in $nodes; do
  bin=$(bash scripts/node-bin.sh "$version")
  for suite in $suites; do
    [[ $suite == fuzz || " $once_on_default_node " == *" $suite "* ]] && continue
    printf '\n== Node %s: %s tests\n' "$("$bin/node" --version)" "$suite" >&2
    # Integration files run one package at a time: real dumps and restores share PIDs, ports and 2 cores.
    concurrency=$([[ $suite == integration ]] && echo --concurrency=1 || true)
    PATH="$bin:$PATH" pnpm exec turbo run "test:$suite" $concurrency
  done
done

# Suites run once, on the default Node:
# - soak (a thousand restores, fifty copies at once, SIGKILLs at random moments): what it exercises
#   (CRIU, namespaces, the launcher) does not vary with Node;
# - containers (podman, buildah, network namespaces: packages/container): they build a container
#   image and start many processes, and the container's Node is always 24.
bin=$(bash scripts/node-bin.sh)
for suite in $once_on_default_node; do
  [[ " $suites " == *" $suite "* ]] || continue
  printf '\n== Node %s: %s tests\n' "$("$bin/node" --version)" "$suite" >&2
  PATH="$bin:$PATH" pnpm exec turbo run "test:$suite" --concurrency=1
done
