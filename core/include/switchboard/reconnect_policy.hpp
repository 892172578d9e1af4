// SPDX-License-Identifier: MIT
// How begin() re-establishes a lost connection: once (fail fast) or with backoff until a deadline.
#pragma once

#include <switchboard/export.hpp>

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string_view>

namespace switchboard {

/// How a connection is (re-)established: when a connection opens and at begin(), never
/// inside a transaction.
///
///   fail_fast: one attempt; on failure connect_failed at once. For interactive requests,
///              where a clear error now beats a slow success.
///   backoff:   attempts until connected or `deadline` has passed since the first attempt,
///              waiting between attempts a random time in [0, min(max_delay,
///              initial_delay * 2^n)] ("full jitter", so a restarted server is not hit by
///              every client at once). Then connect_failed carrying the attempt count and the
///              last cause. For batch jobs that must survive a restart.
///
/// A failure that retrying cannot cure (wrong password, unknown database: not transient)
/// ends either policy at once. `cancel` stops a backoff wait early (connect_failed, "cancelled").
/// Copyable value type; a database carries a default (URL options sb.reconnect=fail_fast|backoff,
/// sb.reconnect_deadline, sb.reconnect_initial_delay, sb.reconnect_max_delay, in ms), and a
/// call or a scope (reconnect_scope) may override it.
struct SWITCHBOARD_API reconnect_policy {
    enum class mode : std::uint8_t { fail_fast, backoff };

    mode kind = mode::fail_fast;
    std::chrono::milliseconds initial_delay{50};
    std::chrono::milliseconds max_delay{2000};
    std::chrono::milliseconds deadline{30000};
    std::stop_token cancel;

    static reconnect_policy fail_fast() noexcept { return {}; }
    static reconnect_policy backoff(std::chrono::milliseconds deadline,
                                    std::chrono::milliseconds initial_delay = std::chrono::milliseconds(50),
                                    std::chrono::milliseconds max_delay = std::chrono::milliseconds(2000)) noexcept {
        reconnect_policy p;
        p.kind = mode::backoff;
        p.deadline = deadline;
        p.initial_delay = initial_delay;
        p.max_delay = max_delay;
        return p;
    }
    reconnect_policy with_cancel(std::stop_token token) const {
        reconnect_policy p = *this;
        p.cancel = std::move(token);
        return p;
    }

    /// The upper bound of the wait before attempt `attempt` (1 = the wait after the first
    /// failure): min(max_delay, initial_delay * 2^(attempt-1)).
    std::chrono::milliseconds delay_cap(unsigned attempt) const noexcept;
};

SWITCHBOARD_API std::string_view to_string(reconnect_policy::mode m) noexcept;

/// Overrides the reconnect policy of every connection used by this thread while it lives
/// (nests; strictly per thread). A policy given to a call wins over the scope.
///
///     switchboard::reconnect_scope batch(reconnect_policy::backoff(std::chrono::minutes(5)));
class SWITCHBOARD_API reconnect_scope {
public:
    explicit reconnect_scope(reconnect_policy policy) noexcept;
    ~reconnect_scope();
    reconnect_scope(const reconnect_scope&) = delete;
    reconnect_scope& operator=(const reconnect_scope&) = delete;

    /// The innermost policy of this thread, or nullptr outside any scope.
    static const reconnect_policy* current() noexcept;

private:
    reconnect_policy policy_;
    const reconnect_scope* outer_;
};

}  // namespace switchboard
