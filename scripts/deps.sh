#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages switchboard needs, if any are missing. Sourced by the other scripts.
set -euo pipefail

switchboard_packages=(
  build-essential cmake ninja-build pkg-config
  libboost-dev          # Boost.DLL (header-only): plugin loading
  libsqlite3-dev        # the SQLite backend
  catch2                # tests (Catch2 2.13)
  libbenchmark-dev      # tests/bench (Google Benchmark)
)

switchboard_install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "switchboard: installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
