#!/usr/bin/env bash
# Debian packages the test suite needs beyond CRIU: Chromium for the end-to-end browser tests.
# Idempotent and quick when everything is present.
set -euo pipefail
[[ -x /usr/bin/chromium ]] && exit 0
[[ $(id -u) -eq 0 ]] || { echo "install-test-tools: run as root to install chromium" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
echo "install-test-tools: installing chromium (end-to-end browser tests)" >&2
apt-get update >/dev/null
apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null
