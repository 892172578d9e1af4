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

# The client libraries of the PostgreSQL and MySQL/MariaDB plugins (built when found).
switchboard_client_packages=(
  libpq-dev                         # the PostgreSQL plugin (libpq)
  libmariadb-dev                    # the MySQL/MariaDB plugin (Connector/C)
)

# The test servers (tests/support/servers.sh installs these itself, keeping Debian's own
# service instances from starting) and the client libraries the plugins use.
switchboard_server_packages=(
  postgresql postgresql-client      # PostgreSQL primary + streaming replica on 127.0.0.1 for tests
  mariadb-server mariadb-client     # MariaDB on 127.0.0.1 for tests
  libpq-dev                         # the PostgreSQL plugin (libpq)
  libmariadb-dev                    # the MySQL/MariaDB plugin (Connector/C)
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
