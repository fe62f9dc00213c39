#!/usr/bin/env bash
# Installs CRIU >= 4.2 and libcriu2 on Debian 12 (bookworm) from Debian's own archive.
#
# Why not bookworm's criu: Linux >= 6.16 refuses SO_PASSCRED/SO_PASSSEC on inet sockets, so
# CRIU < 4.2 cannot dump any TCP socket (and 3.17 fails `criu check` on the new vDSO layout).
# criu 4.2.1 lives in forky and needs glibc >= 2.38, which comes from trixie. APT pinning keeps
# every other package on bookworm. Facts behind each step: docs/criu-and-node.md.
#
# Idempotent: exits at once when criu >= 4.2 and libcriu.so.2 are already there.
set -euo pipefail

readonly MIN_MAJOR=4 MIN_MINOR=2
readonly SOURCES=/etc/apt/sources.list.d/defrost-criu.sources
readonly PINS=/etc/apt/preferences.d/defrost-criu
# trixie's glibc brings the 64-bit time_t transition: libfoo is replaced by libfoot64. Those
# removals are expected, as is gnutls' C++ binding (only -dev packages use it). Anything else
# apt wants to remove stops the script: it would be an unexpected change to the host.
readonly EXTRA_EXPECTED_REMOVALS_RE='^libgnutlsxx30(:[a-z0-9]+)?$'

say() { printf 'install-criu: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

criu_is_recent() {
  command -v criu >/dev/null 2>&1 || return 1
  local v major minor
  v=$(criu --version 2>/dev/null | sed -n 's/^Version: *//p' | head -1)
  [[ -n $v ]] || return 1
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  (( major > MIN_MAJOR || (major == MIN_MAJOR && minor >= MIN_MINOR) ))
}

libcriu_present() {
  ldconfig -p 2>/dev/null | grep -q 'libcriu\.so\.2 '
}

if criu_is_recent && libcriu_present; then
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages with apt-get). Try: sudo $0"
[[ -r /etc/os-release ]] || die "cannot read /etc/os-release; this script supports Debian 12 (bookworm) only"
# shellcheck disable=SC1091
. /etc/os-release
[[ ${ID:-} == debian ]] || die "this is ${PRETTY_NAME:-an unknown system}, not Debian. Install CRIU >= 4.2 and libcriu2 with your distribution's tools (https://criu.org/Installation)."
case ${VERSION_CODENAME:-} in
  bookworm) ;;
  trixie|forky|sid) say "Debian ${VERSION_CODENAME}: installing criu directly";;
  *) die "Debian ${VERSION_CODENAME:-?} is not supported; this script knows bookworm, trixie, forky and sid." ;;
esac

export DEBIAN_FRONTEND=noninteractive

apt_update() {
  local out
  if ! out=$(apt-get update 2>&1); then
    printf '%s\n' "$out" >&2
    if grep -qiE 'is no longer valid|expired' <<<"$out"; then
      die "apt-get update failed because a Release file has expired (this archive is a frozen snapshot). If you trust this mirror, allow it explicitly, e.g.
  echo 'Acquire::Check-Valid-Until \"false\";' > /etc/apt/apt.conf.d/99defrost-snapshot
then run this script again. This script does not turn the check off for you."
    fi
    die "apt-get update failed (output above)"
  fi
  # apt-get update exits 0 on some fetch failures; surface them.
  if grep -qE '^(W|E): .*(expired|no longer valid)' <<<"$out"; then
    printf '%s\n' "$out" >&2
    die "apt reports an expired Release file; see the message above and allow it explicitly (Acquire::Check-Valid-Until \"false\") if you trust the mirror."
  fi
}

# Refuse to go ahead when apt would remove something we did not expect.
check_removals() {
  local plan removals installs pkg list
  local -a unexpected=()
  plan=$(apt-get -s "$@" 2>&1) || die "apt cannot plan the install:
$plan"
  removals=$(awk '/^Remv /{print $2}' <<<"$plan")
  installs=$(awk '/^Inst /{print $2}' <<<"$plan")
  for pkg in $removals; do
    grep -qxF "${pkg%%:*}t64" <<<"$installs" && continue
    [[ $pkg =~ $EXTRA_EXPECTED_REMOVALS_RE ]] && continue
    unexpected+=("$pkg")
  done
  list=$(printf '%s\n' "${unexpected[@]}" | sed '/^$/d')
  if [[ -n $list ]]; then
    die "apt would remove packages this script does not expect to touch:
$(sed 's/^/  /' <<<"$list")
Nothing was changed. Resolve the conflict (or install CRIU >= 4.2 by hand) and run again."
  fi
}

if [[ ${VERSION_CODENAME} == bookworm ]]; then
  # Packages pinned to bookworm's libc6-dev must be in place before glibc moves to trixie:
  # afterwards bookworm's libc6-dev no longer installs (native addons need a compiler).
  say "installing build tools first (they need bookworm's libc6-dev)"
  apt_update
  apt-get install -y --no-install-recommends build-essential python3 iproute2 util-linux ca-certificates >/dev/null

  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  security=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep security | head -1)
  security=${security:-http://deb.debian.org/debian-security}
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg

  cat >"$SOURCES" <<SRC
# Added by defrost scripts/install-criu.sh: CRIU >= 4.2 comes from forky, its glibc from trixie.
Types: deb
URIs: $mirror
Suites: trixie forky
Components: main
Signed-By: $keyring

Types: deb
URIs: $security
Suites: trixie-security
Components: main
Signed-By: $keyring
SRC
  cat >"$PINS" <<'PIN'
# Added by defrost scripts/install-criu.sh: everything stays on bookworm unless asked for.
Package: *
Pin: release n=trixie
Pin-Priority: 100

Package: *
Pin: release n=trixie-security
Pin-Priority: 100

Package: *
Pin: release n=forky
Pin-Priority: 50

Package: src:criu src:libnl3 src:libnet
Pin: release n=forky
Pin-Priority: 995
PIN
fi

say "updating package lists"
apt_update
install_args=(install -y --no-install-recommends)
[[ ${VERSION_CODENAME} == bookworm ]] && install_args+=(-t trixie)
install_args+=(criu libcriu2)
check_removals "${install_args[@]}"
say "installing criu and libcriu2 (glibc from trixie, criu from forky)"
apt-get "${install_args[@]}" >/dev/null

criu_is_recent || die "criu was installed but '$(criu --version 2>&1 | head -2 | tr '\n' ' ')' is older than ${MIN_MAJOR}.${MIN_MINOR}"
libcriu_present || die "libcriu.so.2 is still missing after installing libcriu2"
say "done: $(criu --version | head -1)"
