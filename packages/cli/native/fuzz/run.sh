#!/usr/bin/env bash
# Fuzzes the native launcher of `defrost restore` with libFuzzer, under AddressSanitizer,
# LeakSanitizer and UndefinedBehaviorSanitizer: the plan check (fuzz-plan.c: plan.c) and the
# command line with the restore-time settings (fuzz-settings.c: args.c, settings.c). Each target
# starts from its seed corpus (corpus/NAME, which also keeps the inputs of bugs found before, so
# each run replays them) and runs for a bounded time. Fails on any crash, leak, undefined
# behaviour, broken property or input slower than the timeout; prints how many executions ran.
#
#   DEFROST_FUZZ_SECONDS=N   time per target (default 20; 0 only replays the corpus)
#   CLANG=clang-19           another clang
#
# Needs clang with its libFuzzer and sanitizer runtimes (scripts/install-test-tools.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
native=$(dirname "$here")
seconds=${DEFROST_FUZZ_SECONDS:-20}
clang=${CLANG:-clang}
say() { printf 'fuzz: %s\n' "$*" >&2; }

command -v "$clang" >/dev/null 2>&1 || {
  say "no $clang: install it with 'sudo bash scripts/install-test-tools.sh' (clang and libclang-rt-dev)"
  exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/defrost-fuzz-XXXXXX")
cleanup() {
  local status=$?
  if ((status == 0)); then rm -rf "$work"; else say "inputs, logs and binaries kept in $work"; fi
}
trap cleanup EXIT

# -fno-sanitize-recover: undefined behaviour aborts like a crash, so libFuzzer stops and saves it.
flags=(-std=gnu11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
"$clang" "${flags[@]}" -o "$work/fuzz-plan" "$here/fuzz-plan.c" "$here/fuzz-common.c" "$native/plan.c"
"$clang" "${flags[@]}" -o "$work/fuzz-settings" "$here/fuzz-settings.c" "$here/fuzz-common.c" \
  "$native/args.c" "$native/settings.c"

fuzz() {
  local name=$1 corpus="$work/$1-corpus" log="$work/$1.log"
  mkdir -p "$corpus" "$work/tmp"
  cp "$here/corpus/$name"/* "$corpus/"
  local limit=(-max_total_time="$seconds")
  ((seconds > 0)) || limit=(-runs=0)
  # The fixture of fuzz-plan lives under TMPDIR: inside $work, it goes with it.
  if ! TMPDIR="$work/tmp" ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$work/fuzz-$name" "${limit[@]}" -timeout=5 -rss_limit_mb=2048 -max_len=16384 \
    -dict="$here/$name.dict" -artifact_prefix="$work/$name-" -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    say "$name: FAILED (the input that failed is in $work/$name-*; add it to corpus/$name once fixed)"
    return 1
  fi
  local runs rate
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  say "$name: ${runs:-?} executions in ${seconds} s (${rate:-?}/s) from $(ls "$here/corpus/$name" | wc -l) seeds: no crash, leak, undefined behaviour, timeout or broken property"
  say "  $(grep "^fuzz-$name: " "$log" | tail -1)"
}

fuzz plan
fuzz settings
