// SPDX-License-Identifier: MIT
// transact(): the decision to re-run a unit of work, and the wait before it.
#include <switchboard/database.hpp>
#include <switchboard/events.hpp>
#include <switchboard/transact.hpp>

#include <random>
#include <thread>

namespace switchboard::detail {

void transact_retry_or_rethrow(const error& e, unsigned attempt, const transact_options& options,
                               const database& db) {
    const bool worth_it = e.kind() == errc::commit_outcome_unknown ? options.idempotent : e.is_transient();
    if (!worth_it || attempt >= options.max_attempts) throw;
    // Full jitter, as for reconnects: competing transactions that just collided should not
    // collide again on the same schedule.
    reconnect_policy shape = reconnect_policy::backoff(options.max_delay, options.initial_delay, options.max_delay);
    thread_local std::minstd_rand rng{std::random_device{}()};
    const auto cap = shape.delay_cap(attempt);
    const auto delay =
        std::chrono::milliseconds(std::uniform_int_distribution<long long>(0, static_cast<long long>(cap.count()))(rng));
    event ev{event_kind::retry};
    ev.cause = &e;
    ev.attempt = attempt;
    ev.delay = delay;
    db.notify(ev);
    std::this_thread::sleep_for(delay);
}

}  // namespace switchboard::detail
