#!/usr/bin/env bash
# The C compiler that builds the native fast path of `defrost restore` (packages/cli/native).
# Machines of this class have one; a minimal Debian does not. Idempotent and quick when present.
set -euo pipefail
command -v cc >/dev/null 2>&1 && exit 0
[[ $(id -u) -eq 0 ]] || { echo "install-build-tools: run as root to install gcc (or restores start through Node only)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
echo "install-build-tools: installing gcc (the native fast path of defrost restore)" >&2
apt-get update >/dev/null
apt-get install -y --no-install-recommends gcc libc6-dev >/dev/null
