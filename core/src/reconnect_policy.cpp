// SPDX-License-Identifier: MIT
// Reconnect policies: backoff bounds and the per-thread scope that overrides a database's default.
#include <switchboard/reconnect_policy.hpp>

#include <algorithm>

namespace switchboard {

std::chrono::milliseconds reconnect_policy::delay_cap(unsigned attempt) const noexcept {
    // initial * 2^(attempt-1), saturating at max_delay without overflowing.
    auto cap = std::max(initial_delay, std::chrono::milliseconds(0));
    for (unsigned i = 1; i < attempt && cap < max_delay; ++i) cap *= 2;
    return std::min(cap, max_delay);
}

std::string_view to_string(reconnect_policy::mode m) noexcept {
    return m == reconnect_policy::mode::backoff ? "backoff" : "fail_fast";
}

namespace {
thread_local const reconnect_scope* innermost = nullptr;
}

reconnect_scope::reconnect_scope(reconnect_policy policy) noexcept : policy_(std::move(policy)), outer_(innermost) {
    innermost = this;
}

reconnect_scope::~reconnect_scope() { innermost = outer_; }

const reconnect_policy* reconnect_scope::current() noexcept { return innermost ? &innermost->policy_ : nullptr; }

}  // namespace switchboard
