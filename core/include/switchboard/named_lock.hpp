// SPDX-License-Identifier: MIT
// A named (advisory) lock held by a connection, released when the guard goes out of scope.
#pragma once

#include <switchboard/export.hpp>

#include <cstdint>
#include <string>

namespace switchboard {

namespace detail {
class connection_core;
}

/// Holds a named lock taken with connection::lock(). Releases it in its destructor (errors
/// swallowed: a lost connection has lost its locks anyway). Move-only; must not outlive its
/// connection while held.
class SWITCHBOARD_API named_lock {
public:
    named_lock(named_lock&& other) noexcept;
    named_lock& operator=(named_lock&& other) noexcept;
    named_lock(const named_lock&) = delete;
    named_lock& operator=(const named_lock&) = delete;
    ~named_lock();

    /// Releases now. Throws what the backend throws, except for a lost connection.
    void unlock();
    bool held() const noexcept { return core_ != nullptr; }
    const std::string& name() const noexcept { return name_; }

private:
    friend class connection;
    named_lock(detail::connection_core& core, std::string name) noexcept : core_(&core), name_(std::move(name)) {}

    detail::connection_core* core_ = nullptr;
    std::string name_;
};

}  // namespace switchboard
