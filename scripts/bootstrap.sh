#!/usr/bin/env bash
# Brings a fresh Debian machine (or a fresh clone) to the point where tests and the benchmark run:
# CRIU >= 4.2, a C compiler (the native fast path of restore), the browser used by the end-to-end
# tests and clang with libFuzzer (install-test-tools.sh), the Node.js versions of
# scripts/node-versions, the workspace's dependencies, a build.
# Every step is skipped quickly when already done, so `pnpm test` and `pnpm bench` call it each time.
#
#   bootstrap.sh           everything the tests need
#   bootstrap.sh --bench   only what `pnpm bench` needs: no browser, fuzzer, PostgreSQL or podman
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*" >&2; }

for_tests=true
case ${1:-} in
  --bench) for_tests=false ;;
  '') ;;
  *) say "unknown option $1 (bootstrap.sh [--bench])"; exit 2 ;;
esac

if [[ $(id -u) -eq 0 ]]; then
  bash scripts/install-criu.sh
  bash scripts/install-build-tools.sh
  if $for_tests; then
    bash scripts/install-test-tools.sh
    bash scripts/install-container-tools.sh
  fi
else
  command -v criu >/dev/null || say "warning: criu is missing and this is not root; run 'sudo bash scripts/install-criu.sh'"
fi
bash scripts/install-node.sh
bin=$(bash scripts/node-bin.sh)

# Install only when the lockfile changed since the last install (pnpm records it in node_modules).
# No dependency compiles anything at install time (pnpm-workspace.yaml), so this needs no headers.
if [[ ! -f node_modules/.modules.yaml || pnpm-lock.yaml -nt node_modules/.modules.yaml ]]; then
  say "installing dependencies from the lockfile"
  PATH="$bin:$PATH" pnpm install --frozen-lockfile
fi
say "building (Node $("$bin/node" --version))"
PATH="$bin:$PATH" pnpm exec turbo run build --output-logs=errors-only >&2
