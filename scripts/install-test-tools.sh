#!/usr/bin/env bash
# Debian packages the test suite needs beyond CRIU: Chromium for the end-to-end browser tests; for
# the push/pull tests the reference OCI registry (docker-registry), htpasswd (apache2-utils: bcrypt
# users for a registry with basic auth) and openssl (a CA for a registry over TLS).
# Idempotent and quick when everything is present.
set -euo pipefail
declare -A wanted=(
  [/usr/bin/chromium]="chromium fonts-dejavu-core"
  [/usr/bin/docker-registry]="docker-registry"
  [/usr/bin/htpasswd]="apache2-utils"
  [/usr/bin/openssl]="openssl"
)
missing=()
for binary in "${!wanted[@]}"; do
  [[ -x $binary ]] || missing+=(${wanted[$binary]})
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
[[ $(id -u) -eq 0 ]] || { echo "install-test-tools: run as root to install ${missing[*]}" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
echo "install-test-tools: installing ${missing[*]} (browser and registry tests)" >&2
apt-get update >/dev/null
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
# Debian's package also enables a system-wide registry on :5000; the tests start their own.
if [[ " ${missing[*]} " == *" docker-registry "* ]] && command -v systemctl >/dev/null; then
  systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi
