#!/usr/bin/env bash
# Brings a fresh Debian machine (or a fresh clone) to the point where tests and the benchmark run:
# CRIU >= 4.2, a C compiler (the native fast path of restore), the browser used by the end-to-end
# tests, the workspace's dependencies, a build.
# Every step is skipped quickly when already done, so `pnpm test` and `pnpm bench` call it each time.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*" >&2; }

if [[ $(id -u) -eq 0 ]]; then
  bash scripts/install-criu.sh
  bash scripts/install-build-tools.sh
  bash scripts/install-test-tools.sh
else
  command -v criu >/dev/null || say "warning: criu is missing and this is not root; run 'sudo bash scripts/install-criu.sh'"
fi

# Native addons (better-sqlite3) build against the headers of the installed Node instead of
# downloading them: this machine class reaches no host but the package registries.
if [[ -z ${npm_config_nodedir:-} && -f /usr/include/node/node.h ]]; then
  export npm_config_nodedir=/usr
fi

# Install only when the lockfile changed since the last install (pnpm records it in node_modules).
if [[ ! -f node_modules/.modules.yaml || pnpm-lock.yaml -nt node_modules/.modules.yaml ]]; then
  say "installing dependencies from the lockfile"
  pnpm install --frozen-lockfile
fi
say "building"
pnpm exec turbo run build --output-logs=errors-only >&2
