// SPDX-License-Identifier: MIT
// The error taxonomy: one root exception, stable kinds, and a few classes chosen by what the caller does next.
#pragma once

#include <switchboard/export.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace switchboard {

/// What went wrong, as a stable value. Values never change and are never reused;
/// new kinds are appended. Integrates with std::error_code (see switchboard_category()).
enum class errc : int {
    connect_failed = 1,          ///< could not establish a connection (refused, auth, TLS, cannot open file)
    disconnected = 2,            ///< the connection was lost; the transaction, if any, is doomed until rollback()
    commit_outcome_unknown = 3,  ///< lost during COMMIT, or during a write outside a transaction: it may or may not be committed
    serialization = 4,           ///< serialization failure: re-run the whole unit of work
    deadlock = 5,                ///< the server broke a deadlock by failing this transaction
    lock_timeout = 6,            ///< a lock (row, table, SQLite write lock, writer lock) was not granted in time
    read_only = 7,               ///< a write was refused: read transaction, replica, read-only file
    integrity = 8,               ///< constraint violation: unique, foreign key, not null, check
    syntax = 9,                  ///< the statement does not parse or names unknown objects
    timeout = 10,                ///< statement timeout or cancel; the connection is still usable
    too_many_connections = 11,   ///< the server refused another connection
    permission = 12,             ///< the user may not do this
    plugin = 13,                 ///< a backend plugin could not be found, loaded or trusted
    usage = 14,                  ///< the API was used wrongly: bad URL, wrong parameter count, type mismatch
    other = 15,                  ///< anything else the backend reported (I/O error, corruption, disk full)
};

/// The stable name of a kind, e.g. "lock_timeout".
SWITCHBOARD_API std::string_view to_string(errc kind) noexcept;

/// Whether re-running a unit of work that failed with this kind may succeed, by default.
/// A backend classifier may override it for a particular error (a wrong password is
/// connect_failed but not transient).
SWITCHBOARD_API bool is_transient_by_default(errc kind) noexcept;

/// Whether a connection that raised this kind can be used further, by default.
SWITCHBOARD_API bool keeps_connection_by_default(errc kind) noexcept;

SWITCHBOARD_API const std::error_category& switchboard_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), switchboard_category()}; }

/// Everything an error knows. Never holds a password or a bound value.
struct error_info {
    errc kind = errc::other;
    bool transient = false;         ///< re-running the unit of work may succeed
    bool connection_usable = true;  ///< the connection can go on (after rollback() if in a transaction)
    std::string message;            ///< the backend's message, or core's
    std::string sqlstate;           ///< five characters where the backend has one, else empty
    long long native_code = 0;      ///< the backend's own code (SQLite extended code, MySQL errno), 0 if none
    std::string backend;            ///< e.g. "sqlite"
    std::string database;           ///< the database name (never its URL's password)
    std::string statement;          ///< the statement text, never the bound values
};

/// The root of every exception switchboard throws.
///
/// Catch by class for what you do next (connection_error: reconnect or give up;
/// transaction_error: re-run the unit of work; statement_error: fix the statement or data;
/// usage_error: fix the program; plugin_error: fix the deployment), and look at kind() for
/// anything finer. Copyable, as exceptions should be.
class SWITCHBOARD_API error : public std::runtime_error {
public:
    explicit error(error_info info);
    ~error() override;
    error(const error&) = default;
    error& operator=(const error&) = default;

    errc kind() const noexcept { return info_.kind; }
    std::error_code code() const noexcept { return make_error_code(info_.kind); }
    /// Re-running the whole unit of work may succeed (switchboard::transact does so).
    bool is_transient() const noexcept { return info_.transient; }
    /// The connection can go on: false for connect_failed, disconnected, commit_outcome_unknown.
    bool connection_usable() const noexcept { return info_.connection_usable; }
    const std::string& sqlstate() const noexcept { return info_.sqlstate; }
    long long native_code() const noexcept { return info_.native_code; }
    const std::string& backend() const noexcept { return info_.backend; }
    const std::string& database() const noexcept { return info_.database; }
    const std::string& statement() const noexcept { return info_.statement; }
    /// The backend's message alone, without the context what() adds.
    const std::string& message() const noexcept { return info_.message; }
    const error_info& info() const noexcept { return info_; }

private:
    error_info info_;
};

/// The connection is gone or could not be made: connect_failed, disconnected,
/// commit_outcome_unknown, too_many_connections.
class SWITCHBOARD_API connection_error : public error {
public:
    using error::error;
    ~connection_error() override;
};

/// The transaction lost a conflict; re-running it may succeed: serialization, deadlock,
/// lock_timeout, timeout.
class SWITCHBOARD_API transaction_error : public error {
public:
    using error::error;
    ~transaction_error() override;
};

/// The statement was refused for what it is or does: integrity, syntax, read_only,
/// permission, other.
class SWITCHBOARD_API statement_error : public error {
public:
    using error::error;
    ~statement_error() override;
};

/// The program used the API wrongly: bad URL, wrong parameter count, type mismatch,
/// NULL read into a non-optional, a call on a closed connection.
class SWITCHBOARD_API usage_error : public error {
public:
    using error::error;
    ~usage_error() override;
};

/// A backend plugin could not be found, loaded, trusted or initialised.
class SWITCHBOARD_API plugin_error : public error {
public:
    using error::error;
    ~plugin_error() override;
};

/// Throws the class that fits info.kind. Never returns.
[[noreturn]] SWITCHBOARD_API void throw_error(error_info info);

/// Shorthand for a usage error raised by core or a backend.
[[noreturn]] SWITCHBOARD_API void throw_usage(std::string message, std::string backend = {},
                                              std::string database = {}, std::string statement = {});

}  // namespace switchboard

template <>
struct std::is_error_code_enum<switchboard::errc> : std::true_type {};
