// SPDX-License-Identifier: MIT
// transact(): runs a whole unit of work in a transaction and re-runs it on transient errors.
#pragma once

#include <switchboard/connection.hpp>
#include <switchboard/error.hpp>
#include <switchboard/export.hpp>
#include <switchboard/reconnect_policy.hpp>
#include <switchboard/tx_mode.hpp>

#include <chrono>
#include <optional>
#include <type_traits>
#include <utility>

namespace switchboard {

/// How transact() runs and re-runs a unit of work.
struct transact_options {
    tx_mode mode = tx_mode::write;
    /// Runs of the unit of work at most (the first included).
    unsigned max_attempts = 5;
    /// The work may safely run twice: re-run it also after commit_outcome_unknown (a lost
    /// COMMIT whose outcome nobody knows). Declare it only for work that is idempotent.
    bool idempotent = false;
    /// Wait before re-run n: a random time in [0, min(max_delay, initial_delay * 2^(n-1))].
    std::chrono::milliseconds initial_delay{10};
    std::chrono::milliseconds max_delay{1000};
    /// The reconnect policy of each begin(); default: the scope's, else the database's.
    std::optional<reconnect_policy> reconnect;
};

namespace detail {
/// Decides after a failed attempt: returns normally (after telling db's observer and
/// waiting) when the unit of work should run again, rethrows the error otherwise. Called
/// inside a catch block.
SWITCHBOARD_API void transact_retry_or_rethrow(const error& e, unsigned attempt, const transact_options& options,
                                               const database& db);
}  // namespace detail

/// Runs fn(conn) in a transaction and commits. On a transient error (disconnection before
/// COMMIT, serialization failure, deadlock, lock timeout or busy, a failed connect) the
/// transaction is rolled back — a real ROLLBACK where the connection is alive, since MySQL's
/// lock wait timeout leaves the transaction open — and, after a backoff wait, fn runs again
/// from the start on a fresh transaction (reconnecting at begin() if needed), at most
/// options.max_attempts times in all. commit_outcome_unknown is re-run only for idempotent
/// work; every other error propagates at once. Returns what fn returns. Each re-run is told
/// to the database's observer first (event_kind::retry).
///
/// fn must do all its work through `conn` and may run more than once: keep its side effects
/// outside the database idempotent, and decide what to write inside fn (PostgreSQL manual
/// §13.5: retry the complete transaction, including the logic that decides which SQL to issue).
template <class F>
auto transact(connection& conn, F&& fn, const transact_options& options = {}) -> std::invoke_result_t<F&, connection&> {
    for (unsigned attempt = 1;; ++attempt) {
        try {
            transaction tx = options.reconnect ? conn.begin(options.mode, *options.reconnect) : conn.begin(options.mode);
            if constexpr (std::is_void_v<std::invoke_result_t<F&, connection&>>) {
                fn(conn);
                tx.commit();
                return;
            } else {
                auto value = fn(conn);
                tx.commit();
                return value;
            }
        } catch (const error& e) {
            // tx has rolled back already, in its destructor.
            detail::transact_retry_or_rethrow(e, attempt, options, conn.db());
        }
    }
}

}  // namespace switchboard
