#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing, builds switchboard with the SQLite plugin, and runs the quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
switchboard_install_missing "${switchboard_packages[@]}"
build=${SWITCHBOARD_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target quickstart switchboard_plugin_sqlite -j "$(nproc)"
"$build/examples/quickstart"
