// SPDX-License-Identifier: MIT
// Who a connection talks to: address, version and role (primary or standby), for routing and health.
#pragma once

#include <switchboard/export.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard {

enum class server_role : std::uint8_t { unknown, primary, standby };

SWITCHBOARD_API std::string_view to_string(server_role r) noexcept;

/// The server a connection is talking to, as the backend found it.
struct server_identity {
    std::string host;      ///< host or socket directory as connected; empty for embedded databases
    std::uint16_t port = 0;
    std::string version;   ///< the server's version string, e.g. "15.18" or "10.11.19-MariaDB"
    server_role role = server_role::unknown;  ///< PostgreSQL: standby while pg_is_in_recovery()
};

}  // namespace switchboard
