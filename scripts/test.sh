#!/usr/bin/env bash
# Builds and runs every test: Criterion unit tests and integration tests against real influxd
# (and later PostgreSQL), first in a -Werror build, then under ASan+UBSan; then each libFuzzer
# target for a bounded time. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/install-deps.sh

jobs=$(nproc)
fuzz_seconds=${FARAD_FUZZ_SECONDS:-20}

build() { # dir, cmake args...
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -DFARAD_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" -- --no-print-directory >/dev/null
}

echo "== build (release, -Werror) =="
build build
echo "== tests (release) =="
(cd build && ctest --output-on-failure -j "$jobs")

echo "== build (ASan + UBSan) =="
build build-asan -DCMAKE_BUILD_TYPE=Debug -DFARAD_SANITIZE=ON -DCMAKE_C_COMPILER=clang
echo "== tests (ASan + UBSan) =="
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$root/test/lsan.supp:print_suppressions=0 \
  ctest --output-on-failure -j "$jobs")

echo "== fuzz (${fuzz_seconds}s per target) =="
build build-fuzz -DCMAKE_BUILD_TYPE=Debug -DFARAD_FUZZ=ON -DFARAD_TESTS=OFF -DCMAKE_C_COMPILER=clang
shopt -s nullglob
for f in build-fuzz/fuzz_*; do
  name=$(basename "$f")
  corpus=fuzz/corpus/${name#fuzz_}
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
  echo "-- $name"
  "$f" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$work/" "$work" 2>&1 | tail -2
  rm -rf "$work"
done
echo "all test stages passed"
