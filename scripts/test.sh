#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds, and runs every test; with sanitizers too in CI (CI=true).
#
#   scripts/test.sh                 build in build/ and run the whole suite
#   SWITCHBOARD_SANITIZERS=1 ...    also ASan+UBSan (whole suite) and TSan (concurrency tests)
#   the test servers (tests/support/servers.sh) run meanwhile; stopped at exit unless already running
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
# The PostgreSQL and MySQL plugins are built and tested too; servers.sh installs the servers.
switchboard_install_missing "${switchboard_packages[@]}" "${switchboard_client_packages[@]}"

jobs=$(nproc)
sanitizers=${SWITCHBOARD_SANITIZERS:-}
[ "${CI:-}" = "true" ] && sanitizers=1
passed=0
failed=0
started=$(date +%s)

# run_suite <label> <build dir> <ctest args...> -- <cmake args...>
run_suite() {
  local label=$1 dir=$2
  shift 2
  local ctest_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do ctest_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  echo "=== $label: configure and build in $dir"
  # Every backend ON: a plugin that silently failed to build would drop its tests unseen.
  cmake -S . -B "$dir" -G Ninja -DSWITCHBOARD_SQLITE=ON -DSWITCHBOARD_POSTGRESQL=ON -DSWITCHBOARD_MYSQL=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "=== $label: ctest ${ctest_args[*]}"
  local log="$dir/ctest.log" rc=0
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs" "${ctest_args[@]}" 2>&1 | tee "$log" || rc=$?
  local line total bad
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    echo "=== $label: ctest printed no summary (exit $rc)"
    failed=$((failed + 1))
    return
  fi
  bad=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
  total=$(echo "$line" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  [ "$rc" -eq 0 ] || [ "$bad" -gt 0 ] || failed=$((failed + 1))
  echo "=== $label: $((total - bad)) passed, $bad failed"
}

# The test servers (PostgreSQL primary + streaming replica, MariaDB; 127.0.0.1 only), started once and
# shared by every run below; stopped at exit, also on failure, unless they were running before.
servers=tests/support/servers.sh
servers_stop_at_exit=
servers_missing=
finish() {
  local rc=$?
  if [ -n "$servers_stop_at_exit" ]; then bash "$servers" stop || true; fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if bash "$servers" status >/dev/null 2>&1; then
  echo "=== test servers: already running; left running at exit"
else
  servers_stop_at_exit=1
fi
echo "=== test servers: start"
if bash "$servers" start; then
  eval "$(bash "$servers" env)"
elif [ "${CI:-}" = "true" ]; then
  echo "switchboard: the test servers did not start (see above), and CI requires them" >&2
  exit 1
else
  servers_missing="!!! WARNING: the test servers did not start (see above). The PostgreSQL and MariaDB tests will
!!! fail. Fix the cause, then start them by hand: tests/support/servers.sh start"
  echo "$servers_missing" >&2
fi

run_suite "tests" build -- -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [ -n "$sanitizers" ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  run_suite "asan+ubsan" build-asan -- -DCMAKE_BUILD_TYPE=Debug -DSWITCHBOARD_SANITIZE=address,undefined \
    -DSWITCHBOARD_BUILD_BENCHMARKS=OFF -DSWITCHBOARD_BUILD_EXAMPLES=OFF
  run_suite "tsan" build-tsan -L concurrency -- -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWITCHBOARD_SANITIZE=thread \
    -DSWITCHBOARD_BUILD_BENCHMARKS=OFF -DSWITCHBOARD_BUILD_EXAMPLES=OFF
fi

echo "=== took $(( $(date +%s) - started )) s"
[ -z "$servers_missing" ] || echo "$servers_missing" >&2
echo "switchboard: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
