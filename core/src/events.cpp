// SPDX-License-Identifier: MIT
#include <switchboard/events.hpp>

namespace switchboard {

event_observer::~event_observer() = default;

std::string_view to_string(event_kind kind) noexcept {
    switch (kind) {
        case event_kind::connected: return "connected";
        case event_kind::connect_attempt_failed: return "connect_attempt_failed";
        case event_kind::disconnected: return "disconnected";
        case event_kind::retry: return "retry";
        case event_kind::pool_invalidated: return "pool_invalidated";
        case event_kind::pool_validation_failed: return "pool_validation_failed";
        case event_kind::acquire_waited: return "acquire_waited";
    }
    return "unknown";
}

}  // namespace switchboard
