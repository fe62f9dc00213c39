#!/usr/bin/env bash
# Debian packages the test suite needs beyond CRIU: Chromium for the end-to-end browser tests; for
# the push/pull tests the reference OCI registry (docker-registry), htpasswd (apache2-utils: bcrypt
# users for a registry with basic auth) and openssl (a CA for a registry over TLS); and clang with
# its libFuzzer and sanitizer runtimes for the native launcher's fuzz harness
# (packages/cli/native/fuzz); PostgreSQL 15 (Debian 12's) for the example apps' pg tests, which run
# their own server (initdb in a temporary directory). Idempotent and quick when everything is present.
set -euo pipefail
declare -A wanted=(
  [/usr/bin/chromium]="chromium fonts-dejavu-core"
  [/usr/bin/docker-registry]="docker-registry"
  [/usr/bin/htpasswd]="apache2-utils"
  [/usr/bin/openssl]="openssl"
  [/usr/lib/postgresql/15/bin/postgres]="postgresql-15"
)
missing=()
for binary in "${!wanted[@]}"; do
  [[ -x $binary ]] || missing+=(${wanted[$binary]})
done

# Whether clang can build a libFuzzer harness with the sanitizers the harness uses: the honest
# test, since the runtimes' file names and places differ between LLVM versions.
fuzzer_toolchain_works() {
  command -v clang >/dev/null 2>&1 || return 1
  local out status=0
  out=$(mktemp)
  printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
    clang -x c -fsanitize=fuzzer,address,undefined -o "$out" - >/dev/null 2>&1 || status=1
  rm -f "$out"
  return $status
}
if ! fuzzer_toolchain_works; then
  # The distribution's clang (14 on bookworm) with its runtimes (libclang-rt-dev). On amd64 those
  # depend on libc6-i386, which must be the very version of the installed libc6: after
  # install-criu.sh, libc6 comes from trixie while apt would pick bookworm's libc6-i386 (which
  # wants bookworm's libc6) and give up. Naming the version makes apt take it from trixie then.
  missing+=(clang libclang-rt-dev)
  if [[ $(dpkg --print-architecture) == amd64 ]]; then
    missing+=("libc6-i386=$(dpkg-query -W -f='${Version}' libc6)")
  fi
fi

[[ ${#missing[@]} -eq 0 ]] && exit 0
[[ $(id -u) -eq 0 ]] || { echo "install-test-tools: run as root to install ${missing[*]}" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
echo "install-test-tools: installing ${missing[*]} (browser, registry, fuzzing and PostgreSQL tests)" >&2
# Debian's postgresql-15 would create and start a cluster on :5432 when installed; the tests
# start their own. (postgresql-common reads createcluster.d; the drop-in is not a conffile.)
if [[ " ${missing[*]} " == *" postgresql-15 "* ]]; then
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/defrost-tests.conf
fi
apt-get update >/dev/null
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
# Debian's package also enables a system-wide registry on :5000; the tests start their own.
if [[ " ${missing[*]} " == *" docker-registry "* ]] && command -v systemctl >/dev/null; then
  systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi
