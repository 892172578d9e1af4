// SPDX-License-Identifier: MIT
// What happens to connections, told to an observer: connects, losses, retries, pool events.
#pragma once

#include <switchboard/export.hpp>

#include <chrono>
#include <cstdint>
#include <string_view>

namespace switchboard {

class database;
class error;

/// What an event reports.
enum class event_kind : std::uint8_t {
    /// A connection opened. attempt: which attempt succeeded (1 unless a backoff retried);
    /// elapsed: time from the first attempt, waits included; reconnect: it replaced a
    /// session of the same connection that had been lost or closed.
    connected,
    /// One connection attempt failed. cause: why; attempt: its number; delay: the wait before
    /// the next attempt, or zero when this was the last (the caller then gets connect_failed).
    connect_attempt_failed,
    /// An open connection was lost (cause->kind() is disconnected or commit_outcome_unknown,
    /// or another kind the backend says leaves the connection unusable). in_transaction: it
    /// was lost inside a transaction (doomed until rollback(), or closed if rollback() itself
    /// found it lost); otherwise it is closed. The next begin() reconnects.
    disconnected,
    /// transact() is about to re-run a unit of work. cause: the error of the failed attempt;
    /// attempt: the number of the attempt that failed; delay: the wait before the next one.
    retry,
    /// A pool stopped trusting its connections opened before now (after a lost connection,
    /// a failed validation, or invalidate()). count: idle connections closed at once; leased
    /// ones close when they come back. cause: the error that triggered it, if any.
    pool_invalidated,
    /// A pooled connection idle past pool_options::validate_idle_after failed its ping and
    /// was closed instead of handed out. cause: the ping's error (null if the backend threw
    /// something else).
    pool_validation_failed,
    /// acquire() had to wait for a connection (all max_size leased). elapsed: how long;
    /// cause: the timeout error when it gave up, else null.
    acquire_waited,
};

/// The name of an event kind ("connected", ...).
SWITCHBOARD_API std::string_view to_string(event_kind kind) noexcept;

/// One event. Everything it points at lives only for the call to on_event(): copy what you
/// keep. It carries no password (the database's to_string() and every error message redact
/// it) and switchboard puts no bound parameter value in it (errors name the statement text,
/// never its parameters); a server's own message may still quote data, as PostgreSQL's
/// "invalid input syntax" and MySQL's "Duplicate entry" do.
struct event {
    event_kind kind;
    const database* db = nullptr;  ///< the database concerned (name(), backend_name(), to_string())
    const error* cause = nullptr;  ///< the error behind it, where there is one
    unsigned attempt = 0;
    std::chrono::nanoseconds elapsed{0};
    std::chrono::milliseconds delay{0};
    std::uint64_t count = 0;
    bool in_transaction = false;
    bool reconnect = false;
};

/// Receives events of the databases it is given to (database_options::observer), on the
/// thread where they happen, synchronously, never under a pool lock.
///
/// An observer must be thread safe (events of one database come from every thread that uses
/// it), quick (it runs on the application's path; queue the work if it is slow), and must
/// not call back into the connection or pool that reports the event. It must not throw:
/// on_event is noexcept, so an escaping exception ends the program.
///
///     struct log_losses : switchboard::event_observer {
///         void on_event(const switchboard::event& e) noexcept override {
///             if (e.kind == switchboard::event_kind::disconnected)
///                 spdlog::warn("{}: connection lost: {}", e.db->name(), e.cause->what());
///         }
///     };
class SWITCHBOARD_API event_observer {
public:
    virtual ~event_observer();
    virtual void on_event(const event& e) noexcept = 0;
};

}  // namespace switchboard
