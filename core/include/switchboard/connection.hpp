// SPDX-License-Identifier: MIT
// A connection to one database: statements with bound '?' parameters, transactions, state.
#pragma once

#include <switchboard/database.hpp>
#include <switchboard/export.hpp>
#include <switchboard/named_lock.hpp>
#include <switchboard/reconnect_policy.hpp>
#include <switchboard/result.hpp>
#include <switchboard/server_identity.hpp>
#include <switchboard/transaction.hpp>
#include <switchboard/tx_mode.hpp>
#include <switchboard/value.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <span>
#include <type_traits>
#include <string_view>

namespace switchboard {

namespace detail {
class connection_core;
}

/// One connection to one database, used by one thread at a time (move it between threads,
/// never share it).
///
/// Statements take '?' positional parameters on every backend; values are always bound,
/// never spliced into the SQL text. Statements are prepared once and cached per connection.
/// Outside a transaction each statement commits on its own (autocommit).
///
/// Failures throw switchboard::error subclasses (see error.hpp). A disconnection inside a
/// transaction dooms the connection: every later call fails with errc::disconnected until
/// rollback(), which then succeeds locally; nothing is re-sent behind the caller's back.
/// A disconnection outside a transaction closes it. begin() is the only call that
/// re-establishes a closed connection. A wrong parameter count or a type mismatch throws
/// usage_error before anything is sent, and leaves the connection usable. Transaction control
/// goes through begin()/commit()/rollback(): BEGIN, COMMIT, ROLLBACK... as statement text are
/// refused with usage_error, so the connection always knows its state.
class SWITCHBOARD_API connection {
public:
    /// Opens a connection to db under its reconnect policy (or the thread's reconnect_scope).
    /// Throws connection_error (errc::connect_failed) and friends.
    explicit connection(const database& db);
    /// Opens a connection under this reconnect policy.
    connection(const database& db, const reconnect_policy& policy);
    connection(connection&& other) noexcept;
    connection& operator=(connection&& other) noexcept;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    /// Closes; rolls back an open transaction first (errors ignored).
    ~connection();

    /// Runs a statement to its end. The rows of its result are read and discarded, so an error
    /// the server sends after some rows (statement timeout, deadlock) is thrown here too.
    template <class... P>
    command_result execute(std::string_view sql, const P&... params) {
        const std::array<value_view, sizeof...(P)> bound{to_param(params)...};
        return execute_params(sql, bound);
    }

    /// Runs a statement and returns its rows, streamed as you iterate.
    template <class... P>
    result query(std::string_view sql, const P&... params) {
        const std::array<value_view, sizeof...(P)> bound{to_param(params)...};
        return query_params(sql, bound);
    }

    /// The first column of the first row, as T. Throws usage_error if there is no row; use
    /// std::optional<T> for a value that may be NULL. Reads the statement to its end, as
    /// execute() does, so an error after the first row is thrown, not dropped.
    template <class T, class... P>
    T query_value(std::string_view sql, const P&... params) {
        static_assert(!std::is_same_v<T, std::string_view> && !std::is_same_v<T, bytes_view> &&
                          !std::is_same_v<T, value_view>,
                      "query_value<T>: T must own its data (the row is gone when it returns): "
                      "use std::string or bytes, or query() and read the row");
        result r = query(sql, params...);
        if (!r.next()) throw_no_row(r.sql());
        T value = r.current().template get<T>(0);
        while (r.next()) {
        }
        return value;
    }

    command_result execute_params(std::string_view sql, std::span<const value_view> params);
    result query_params(std::string_view sql, std::span<const value_view> params);

    /// Begins a transaction: tx_mode::write takes the backend's write lock semantics
    /// (SQLite: BEGIN IMMEDIATE behind the writer lock), tx_mode::read is read-only where the
    /// backend can enforce it. Reconnects first, under the reconnect policy, if the connection
    /// is closed or turns out to have died while idle. Throws usage_error if a transaction is
    /// already open.
    transaction begin(tx_mode mode = tx_mode::write);
    /// begin() with this reconnect policy instead of the scope's or the database's.
    transaction begin(tx_mode mode, const reconnect_policy& policy);

    /// Commits the open transaction. A disconnection here throws errc::commit_outcome_unknown.
    void commit();
    /// Rolls back the open transaction; on a doomed connection, succeeds without a round trip
    /// and leaves the connection closed (begin() reconnects).
    void rollback();

    /// Takes a session-level named lock (advisory: it excludes other holders of the same
    /// name, not access to data), waiting at most `timeout`; released by the guard. Throws
    /// transaction_error (errc::lock_timeout) on expiry, usage_error where the backend has no
    /// named locks (capability named_locks).
    named_lock lock(std::string_view name, std::chrono::milliseconds timeout);

    /// The server this connection talks to: address, version, primary or standby.
    server_identity server();

    /// Asks the server whether it is still there, with the cheapest round trip its protocol
    /// has (nothing at all for SQLite). Throws as a statement would: errc::disconnected when
    /// it is gone (the connection is then closed, or doomed inside a transaction, and the
    /// next begin() reconnects). usage_error while a result of this connection is alive.
    void ping();

    connection_state state() const noexcept;
    /// Server sessions this connection has had: 1 after it connects, one more for every
    /// reconnect (0 if it never connected, or was moved from). A change means the server side
    /// of the session (temporary tables, session settings, named locks) was lost.
    std::uint64_t session_count() const noexcept;
    bool in_transaction() const noexcept { return state() == connection_state::in_transaction; }
    const database& db() const;

    /// Closes now, rolling back an open transaction (errors ignored).
    void close() noexcept;

private:
    friend class transaction;
    friend class named_lock;
    [[noreturn]] static void throw_no_row(const std::string& statement);
    detail::connection_core& core() const;  // throws usage_error on a moved-from connection
    std::shared_ptr<detail::connection_core> core_;
};

}  // namespace switchboard
