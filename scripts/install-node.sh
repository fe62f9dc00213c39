#!/usr/bin/env bash
# Installs the Node.js versions listed in scripts/node-versions into .tools/node/<version>/ (bin/node,
# include/node for native addons), from the npm registry: the only host that serves Node to this
# machine class. Each tarball's sha512 must match the pinned integrity before it is unpacked.
#
#   scripts/install-node.sh            every listed version
#   scripts/install-node.sh 24 22.23   the listed versions matching these prefixes
#
# Idempotent: a version whose bin/node runs and reports that version is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
readonly TOOLS=${DEFROST_NODE_DIR:-$PWD/.tools/node}

say() { printf 'install-node: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

case $(uname -m) in
  x86_64) arch=x64; column=2 ;;
  aarch64) arch=arm64; column=3 ;;
  *) die "no official Node.js binary for $(uname -m) in the npm registry (x86_64 and aarch64 only)" ;;
esac

wanted() {
  local version=$1 prefix
  (($# == 1)) && return 0
  shift
  for prefix in "$@"; do [[ $version == "$prefix" || $version == "$prefix".* ]] && return 0; done
  return 1
}

install_one() {
  local version=$1 integrity=$2 dest="$TOOLS/$1" work tgz actual
  if [[ -x $dest/bin/node && $("$dest/bin/node" --version 2>/dev/null) == "v$version" ]]; then
    return 0
  fi
  say "installing Node.js $version ($arch) from the npm registry"
  work=$(mktemp -d "${TMPDIR:-/tmp}/defrost-node-XXXXXX")
  trap 'rm -rf "$work"' RETURN
  (cd "$work" && npm pack --silent "node-linux-$arch@$version" >/dev/null) ||
    die "npm pack node-linux-$arch@$version failed (is the npm registry reachable? see npm's output above)"
  tgz=$(ls "$work"/*.tgz)
  actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [[ $actual == "$integrity" ]] ||
    die "node-linux-$arch@$version does not match its pinned integrity (got $actual); nothing was installed"
  mkdir -p "$work/unpacked" "$TOOLS"
  tar -xzf "$tgz" -C "$work/unpacked"
  rm -rf "$dest.partial"
  mv "$work/unpacked/package" "$dest.partial"
  rm -rf "$dest"
  mv "$dest.partial" "$dest"
  "$dest/bin/node" --version >/dev/null || die "the installed $dest/bin/node does not run"
}

while read -r version x64 arm64 _; do
  [[ -z $version || $version == \#* ]] && continue
  wanted "$version" "$@" || continue
  integrity=$([[ $column == 2 ]] && echo "$x64" || echo "$arm64")
  install_one "$version" "$integrity"
done <scripts/node-versions
