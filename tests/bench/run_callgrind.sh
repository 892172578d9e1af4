#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Instructions per query under callgrind, switchboard vs raw, by difference of two run lengths.
#   tests/bench/run_callgrind.sh <bench binary> [N]
set -euo pipefail
bin=$1
n=${2:-20000}
count() {  # <side> <queries> -> total instructions
  local out
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --count "$1" "$2" >/dev/null 2>&1 || true
  grep -E '^summary:|^totals:' "$out" | head -n 1 | awk '{print $2}'
  rm -f "$out"
}
declare -A per
for side in raw switchboard; do
  a=$(count "$side" "$n")
  b=$(count "$side" $((2 * n)))
  per[$side]=$(( (b - a) / n ))
  echo "$side: ${per[$side]} instructions/query"
done
awk -v s="${per[switchboard]}" -v r="${per[raw]}" 'BEGIN { printf "ratio switchboard/raw: %.3f\n", s / r }'
