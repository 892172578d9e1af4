// SPDX-License-Identifier: MIT
// An event_observer that keeps a copy of every event, for tests of what observers are told.
#pragma once

#include <switchboard/database.hpp>
#include <switchboard/error.hpp>
#include <switchboard/events.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace switchboard::testing {

/// What one event said, copied (an event's pointers live only during on_event).
struct recorded_event {
    event_kind kind;
    std::string database;      ///< db->name()
    std::string database_url;  ///< db->to_string()
    std::optional<errc> cause;
    std::string cause_text;  ///< cause->what()
    unsigned attempt = 0;
    std::chrono::nanoseconds elapsed{0};
    std::chrono::milliseconds delay{0};
    std::uint64_t count = 0;
    bool in_transaction = false;
    bool reconnect = false;
};

/// Thread safe: events may come from any thread.
class event_recorder final : public event_observer {
public:
    void on_event(const event& e) noexcept override {
        try {
            recorded_event r{e.kind, e.db->name(), e.db->to_string(), std::nullopt, {}, e.attempt, e.elapsed,
                             e.delay, e.count, e.in_transaction, e.reconnect};
            if (e.cause != nullptr) {
                r.cause = e.cause->kind();
                r.cause_text = e.cause->what();
            }
            std::lock_guard lock(mutex_);
            events_.push_back(std::move(r));
        } catch (...) {  // out of memory: the test then sees an event missing
        }
    }
    std::vector<recorded_event> events() const {
        std::lock_guard lock(mutex_);
        return events_;
    }
    std::vector<recorded_event> of(event_kind kind) const {
        std::vector<recorded_event> out;
        for (const recorded_event& r : events())
            if (r.kind == kind) out.push_back(r);
        return out;
    }

private:
    mutable std::mutex mutex_;
    std::vector<recorded_event> events_;
};

}  // namespace switchboard::testing
