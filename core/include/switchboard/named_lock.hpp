// SPDX-License-Identifier: MIT
// A named (advisory) lock held by a connection, released when the guard goes out of scope.
#pragma once

#include <switchboard/export.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace switchboard {

namespace detail {
class connection_core;
}

/// Holds a named lock taken with connection::lock(). Releases it in its destructor (errors
/// swallowed: a lost connection has lost its locks anyway). Move-only. The lock belongs to
/// the server session it was taken in: once that session is gone (connection lost, closed,
/// reconnected or destroyed) the guard holds nothing and never touches a newer session.
class SWITCHBOARD_API named_lock {
public:
    named_lock(named_lock&& other) noexcept;
    named_lock& operator=(named_lock&& other) noexcept;
    named_lock(const named_lock&) = delete;
    named_lock& operator=(const named_lock&) = delete;
    ~named_lock();

    /// Releases now. Throws what the backend throws, except for a lost connection.
    void unlock();
    /// Whether the lock is still held: not released, and its session still alive.
    bool held() const noexcept;
    const std::string& name() const noexcept { return name_; }

private:
    friend class connection;
    named_lock(std::weak_ptr<detail::connection_core> core, std::uint64_t session, std::string name) noexcept
        : core_(std::move(core)), session_(session), name_(std::move(name)) {}
    std::shared_ptr<detail::connection_core> session_core() const noexcept;

    std::weak_ptr<detail::connection_core> core_;
    std::uint64_t session_ = 0;  // which connect() of the connection took it
    std::string name_;
};

}  // namespace switchboard
