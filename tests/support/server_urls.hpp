// SPDX-License-Identifier: MIT
// The URLs of the project's test servers, from the environment tests/support/servers.sh sets.
#pragma once

#include <string>

namespace switchboard::testing {

/// The value of environment variable `name` (e.g. SWITCHBOARD_TEST_PG_URL). When it is not
/// set the calling test FAILS, saying how to start the servers: a server test never passes
/// or skips silently (Catch2 v2 has no skip).
std::string server_url(const char* name);

}  // namespace switchboard::testing
