// SPDX-License-Identifier: MIT
// A transaction scope: commits when told to, rolls back in its destructor otherwise.
#pragma once

#include <switchboard/export.hpp>
#include <switchboard/tx_mode.hpp>

#include <cstdint>
#include <memory>

namespace switchboard {

class connection;
namespace detail {
class connection_core;
}

/// The transaction begun by connection::begin(). Rolls back in its destructor unless
/// committed or rolled back (destructor errors are swallowed: the connection is then doomed
/// or closed and says so on its next use). Move-only. It may outlive its connection (or the
/// connection may be moved or reassigned): it then is simply no longer active.
///
///     auto tx = conn.begin(tx_mode::write);
///     conn.execute("INSERT INTO t(v) VALUES (?)", 42);
///     tx.commit();
class SWITCHBOARD_API transaction {
public:
    transaction(transaction&& other) noexcept;
    transaction& operator=(transaction&& other) noexcept;
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    ~transaction();

    /// Commits; see connection::commit().
    void commit();
    /// Rolls back; see connection::rollback().
    void rollback();
    /// Whether this transaction is still open (not committed, rolled back, or superseded).
    bool active() const noexcept;
    tx_mode mode() const noexcept { return mode_; }

private:
    friend class connection;
    transaction(std::weak_ptr<detail::connection_core> core, tx_mode mode, std::uint64_t serial) noexcept
        : core_(std::move(core)), mode_(mode), serial_(serial) {}
    /// The connection's state if this transaction is still the open one, else null.
    std::shared_ptr<detail::connection_core> open_core() const noexcept;

    std::weak_ptr<detail::connection_core> core_;  // expires with the connection
    tx_mode mode_ = tx_mode::write;
    std::uint64_t serial_ = 0;  // which begin() of the connection this is
};

}  // namespace switchboard
