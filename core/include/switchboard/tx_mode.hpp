// SPDX-License-Identifier: MIT
// Transaction modes and connection states, shared by the public API and the plugin contract.
#pragma once

#include <switchboard/export.hpp>

#include <cstdint>
#include <string_view>

namespace switchboard {

/// What a transaction intends to do. A backend maps it to its own locking:
/// SQLite begins a write transaction with BEGIN IMMEDIATE behind its writer lock and a read
/// transaction deferred; PostgreSQL and MySQL begin read transactions READ ONLY.
enum class tx_mode : std::uint8_t { read, write };

/// Where a connection stands.
///   idle:           open, no transaction (statements run in autocommit)
///   in_transaction: between begin() and commit()/rollback()
///   doomed:         the connection was lost inside a transaction; every call fails with
///                   errc::disconnected until rollback()
///   closed:         no backend connection; begin() reconnects, other calls fail
enum class connection_state : std::uint8_t { idle, in_transaction, doomed, closed };

SWITCHBOARD_API std::string_view to_string(tx_mode m) noexcept;
SWITCHBOARD_API std::string_view to_string(connection_state s) noexcept;

}  // namespace switchboard
