#!/usr/bin/env bash
# Debian packages for the container tests and the side-by-side benchmark (docs/containers.md):
# podman (runs the restored server in a container), buildah (builds the container image from
# scratch: no base image can be pulled here), skopeo (copies images to and from registries), runc
# (the OCI runtime: crun fails on hybrid cgroups and is built without CRIU support), netavark (the
# container network), catatonit (podman's --init: criu needs a reaper as PID 1), iptables
# (netavark's firewall driver) and iproute2 (`ip netns` for the many-hosts test).
#
# From bookworm, the suite the machine's sources name first. scripts/install-criu.sh moves glibc to
# trixie's; bookworm's podman, buildah, skopeo and runc only need an older glibc, so they install
# on such a machine as well (checked with `apt-get -s`), and nothing is removed: the plan is
# checked first, and the script stops if apt wants to remove anything.
#
# Idempotent and quick when everything is present.
set -euo pipefail
declare -A wanted=(
  [/usr/bin/podman]="podman"
  [/usr/bin/buildah]="buildah"
  [/usr/bin/skopeo]="skopeo"
  [/usr/sbin/runc]="runc"
  [/usr/lib/podman/netavark]="netavark"
  [/usr/libexec/podman/catatonit]="catatonit"
  [/usr/sbin/iptables]="iptables"
  [/usr/sbin/ip]="iproute2"
  [/usr/bin/nsenter]="util-linux"
)
say() { printf 'install-container-tools: %s\n' "$*" >&2; }
missing=()
for file in "${!wanted[@]}"; do
  [[ -e $file ]] || missing+=("${wanted[$file]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
[[ $(id -u) -eq 0 ]] || { say "run as root to install ${missing[*]}"; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update >/dev/null
args=(install -y --no-install-recommends "${missing[@]}")
plan=$(apt-get -s "${args[@]}" 2>&1) || { printf '%s\n' "$plan" >&2; say "apt cannot plan the install (output above)"; exit 1; }
removals=$(awk '/^Remv /{print $2}' <<<"$plan")
if [[ -n $removals ]]; then
  say "apt would remove packages this script does not expect to touch; nothing was changed:"
  sed 's/^/  /' <<<"$removals" >&2
  exit 1
fi
say "installing ${missing[*]} (container tests and benchmark)"
apt-get "${args[@]}" >/dev/null
# Debian's package also enables podman's API socket and its restart/auto-update services, as
# root; the tests and the benchmark run podman themselves and need none of them.
if [[ " ${missing[*]} " == *" podman "* ]] && command -v systemctl >/dev/null; then
  systemctl disable --now podman.socket podman.service podman-restart.service podman-auto-update.timer >/dev/null 2>&1 || true
fi
