// SPDX-License-Identifier: MIT
// Test server URLs from the environment, failing loudly when the servers are not running.
#include "support/server_urls.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

namespace switchboard::testing {

std::string server_url(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0')
        FAIL(name << " is not set: this test needs the project's test servers. Start them with "
                     "`tests/support/servers.sh start && eval \"$(tests/support/servers.sh env)\"`, "
                     "or run everything with scripts/test.sh");
    return value;
}

}  // namespace switchboard::testing
