// SPDX-License-Identifier: MIT
// A bounded pool of connections to one database, handing out RAII leases.
#pragma once

#include <switchboard/connection.hpp>
#include <switchboard/database.hpp>
#include <switchboard/export.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace switchboard {

namespace detail {
class pool_state;
struct pooled_connection;
}  // namespace detail

/// How a pool sizes itself and when it retires connections. A zero max_lifetime or
/// idle_timeout turns that limit off.
struct pool_options {
    /// Open connections at most, leased and idle together (connections being opened count
    /// too). Never exceeded. At least 1.
    std::size_t max_size = 8;
    /// Idle connections the pool keeps when it retires idle ones in passing (it shrinks no
    /// further on its own). Connections open only on demand: pool::fill() opens this many.
    /// A connection idle past idle_timeout is still never handed out.
    std::size_t min_idle = 0;
    /// How long acquire() waits for a connection when max_size are open and all leased.
    /// Zero: fail at once. Does not bound the time to open a connection, which the reconnect
    /// policy governs.
    std::chrono::milliseconds acquire_timeout{30000};
    /// A connection open longer than this (less a random jitter of up to 1/40 of it, so
    /// connections opened together do not all retire together) is closed, not handed out.
    std::chrono::milliseconds max_lifetime{std::chrono::minutes(30)};
    /// An idle connection unused for longer than this is closed, not handed out.
    std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};
    /// An idle connection unused for at least this long is pinged (connection::ping(), one
    /// round trip) before it is handed out. If the ping fails it is closed and acquire()
    /// opens a new connection in its place; if it failed because the connection was lost,
    /// the pool is invalidated too (validate_after_failure). Catches sessions the server
    /// dropped meanwhile (restart, idle timeout) before the caller's first statement does. A
    /// busy pool hands out connections used moments ago, unpinged. Zero turns it off.
    /// The ping waits as long as the backend waits for a reply: against a peer that vanished
    /// without a reset (a firewall dropping packets) bound it with the driver's options
    /// (PostgreSQL tcp_user_timeout or keepalives, MySQL read_timeout); acquire_timeout
    /// covers neither validation nor opening.
    std::chrono::milliseconds validate_idle_after{1000};
    /// After a lease comes back broken (doomed, or closed because the connection was lost),
    /// invalidate(): every other connection opened before the failure is closed instead of
    /// reused, since the server that dropped one has likely dropped them all (a restart, a
    /// failover, a firewall flush).
    bool validate_after_failure = true;
};

/// Counters of a pool, read together (a consistent snapshot). open == idle + in_use plus the
/// connections being opened right now.
struct pool_stats {
    std::size_t open = 0;     ///< connections open or being opened
    std::size_t idle = 0;     ///< open and waiting in the pool
    std::size_t in_use = 0;   ///< leased out
    std::size_t waiting = 0;  ///< acquire() calls waiting for a connection
    std::uint64_t created = 0;   ///< connections opened since the pool was made (reconnects inside a lease included)
    std::uint64_t closed = 0;    ///< connections closed (retired, broken, discarded) or whose session was lost and reopened inside a lease
    std::uint64_t timeouts = 0;  ///< acquire() calls that gave up after acquire_timeout
    std::uint64_t validations_failed = 0;  ///< idle connections closed because a ping failed
    std::uint64_t generation = 0;  ///< bumped by every invalidate()
};

/// A bounded pool of connections to one database; one pool per database.
///
///     switchboard::pool pool(db, {.max_size = 16});
///     {
///         auto conn = pool.acquire();          // a lease: waits at most acquire_timeout
///         conn->execute("UPDATE ...", id);
///     }                                        // back in the pool, or closed if broken
///
/// Connections open on demand, outside any lock, under the database's reconnect policy (or
/// the calling thread's reconnect_scope), up to max_size; a slot is reserved before the
/// connection opens, so the bound holds even while several open at once. A failed open
/// throws to the acquirer and frees its slot. When all max_size are leased, acquire() waits
/// (first come, first served: a returned connection goes straight to the longest waiter)
/// for at most acquire_timeout.
///
/// Never handed out, always closed instead: a connection returned doomed or closed, one whose
/// transaction could not be rolled back, one older than max_lifetime or idle longer than
/// idle_timeout, one idle past validate_idle_after whose ping failed, and one opened before
/// the last invalidate(). A lease returned with a transaction still open is rolled back
/// first, so no transaction leaks to the next user.
///
/// Events (database_options::observer): pool_invalidated, pool_validation_failed and
/// acquire_waited, besides the connections' own connected / disconnected.
///
/// Thread safety: every member function may be called from any thread at once. A lease, like
/// the connection it gives, belongs to one thread at a time.
///
/// Lifetime: a lease holds the pool's shared state, so it stays safe even after the pool
/// object is destroyed; it then closes its connection when it ends. Destroying the pool
/// closes its idle connections. Do not destroy a pool while another thread is inside one of
/// its member functions.
///
/// Errors from acquire(): transaction_error (errc::timeout, transient) when no connection
/// freed within acquire_timeout; whatever connecting throws (connection_error, errc::
/// connect_failed and kin) when a new connection could not be opened.
class SWITCHBOARD_API pool {
public:
    /// A connection on loan from a pool: move-only; returns the connection when it ends.
    /// Use it like a pointer: lease->execute(...), *lease.
    class SWITCHBOARD_API lease {
    public:
        lease() noexcept = default;
        lease(lease&& other) noexcept;
        lease& operator=(lease&& other) noexcept;
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        /// Returns the connection (see reset()).
        ~lease();

        connection& operator*() const noexcept { return *conn_; }
        connection* operator->() const noexcept { return conn_; }
        /// Whether this lease holds a connection (false once moved from, reset or discarded).
        explicit operator bool() const noexcept { return item_ != nullptr; }

        /// Returns the connection to the pool now: an open transaction is rolled back, and a
        /// connection that may not be reused is closed instead.
        void reset() noexcept;
        /// Closes the connection now instead of returning it (its slot frees for another).
        /// Does not by itself invalidate the rest of the pool (a connection found doomed or
        /// lost does, as on any return).
        void discard() noexcept;

    private:
        friend class pool;
        lease(std::shared_ptr<detail::pool_state> state, detail::pooled_connection* item, connection* conn) noexcept
            : state_(std::move(state)), item_(item), conn_(conn) {}
        std::shared_ptr<detail::pool_state> state_;  // keeps the pool's state alive while leased
        detail::pooled_connection* item_ = nullptr;
        connection* conn_ = nullptr;  // item_'s connection, so that -> and * inline
    };

    /// A pool for db; opens no connection yet. Throws usage_error if max_size is 0 or
    /// min_idle exceeds it.
    pool(database db, pool_options options = {});
    /// Closes the idle connections; connections still leased close when their lease ends.
    ~pool();
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    /// A connection: an idle one if any, else a new one if fewer than max_size are open, else
    /// the next one returned, waiting at most acquire_timeout.
    lease acquire();

    /// Opens connections until min_idle are idle (or max_size are open). Throws what
    /// connecting throws.
    void fill();
    /// Closes every idle connection now. Leased ones are untouched.
    void close_idle() noexcept;
    /// Bumps the generation: idle connections close now, leased ones when they come back, so
    /// no connection opened before this call is handed out again.
    void invalidate() noexcept;

    pool_stats stats() const noexcept;
    const database& db() const noexcept;
    const pool_options& options() const noexcept;

private:
    std::shared_ptr<detail::pool_state> state_;
};

}  // namespace switchboard
