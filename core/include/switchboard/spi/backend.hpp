// SPDX-License-Identifier: MIT
// The contract a backend implements: backend, backend_connection, backend_statement, native errors.
#pragma once

// How to write a backend
// ----------------------
// Implement the three interfaces below over your native client library, a classifier
// (backend::classify) that turns a native_error into a kind, and export a descriptor
// (spi/plugin.hpp). backends/sqlite is the reference: every backend has the same few files.
//
// Division of labour. The backend talks to its native library and reports failures as
// native_failure; it never retries, reconnects, or decides that a connection is doomed.
// Core catches native_failure, asks backend::classify() what it means, marks the
// connection doomed or closed, attaches the database name and the statement text, and
// throws the public switchboard::error. A backend may also throw switchboard::error itself
// (usage_error for a bad option, for instance). Any other exception leaving a backend is a
// bug and is turned into errc::plugin naming the backend.
//
// Threads. A backend object is shared by every connection of every database of its
// schemes and is called from many threads: it must be thread-safe (it usually holds no
// state). A backend_connection and its statements are used by one thread at a time; core
// never calls two of its methods concurrently.
//
// Lifetimes. Core keeps the backend object, and the module that holds its code, alive for
// the life of the process. Core destroys every backend_statement before the
// backend_connection that prepared it, and passes views (sql, parameters) that are valid
// only for the duration of the call: copy what you keep.

#include <switchboard/error.hpp>
#include <switchboard/export.hpp>
#include <switchboard/server_identity.hpp>
#include <switchboard/tx_mode.hpp>
#include <switchboard/url.hpp>
#include <switchboard/value.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace switchboard::spi {

class backend_statement;

/// Which call failed: part of what the classifier sees, and what core uses to tell an
/// in-doubt COMMIT (a disconnection during operation::commit) from a plain disconnection.
enum class operation : std::uint8_t { connect, prepare, execute, fetch, begin, commit, rollback, lock, ping };

/// What the native library said, before any interpretation. Fill what the library gives;
/// leave the rest empty.
struct native_error {
    operation op = operation::execute;
    long long code = 0;           ///< SQLite extended result code, MySQL errno; 0 if none (libpq)
    std::string sqlstate;         ///< five characters, if the library gave one
    std::string message;          ///< the library's message, as is (may be localised)
    bool connection_bad = false;  ///< the native handle says the connection is gone (PQstatus == CONNECTION_BAD)
    bool no_result = false;       ///< the call returned no result at all (libpq: NULL PGresult)
    /// The failure ended the open transaction on the server's side (SQLite rolls back on
    /// FULL, IOERR, INTERRUPT, RAISE(ROLLBACK)...): core then refuses further statements of
    /// that transaction until rollback(), so that no later write commits on its own.
    bool transaction_ended = false;
    /// The statement never reached the server: the connection was already known to be lost
    /// when it was to be sent. Core then does not count a lost write as possibly committed.
    bool not_sent = false;
    /// The failure came while reading the rest of another statement's open result (MySQL
    /// reads it when the next command needs the wire). Core then judges by the open results
    /// whether a write may have committed.
    bool in_other_result = false;
    /// With in_other_result: the statement whose result was being read (nullptr: unknown,
    /// core then suspects every open result).
    const backend_statement* other_statement = nullptr;
    std::string server;           ///< server product/version where it matters to classify (MySQL vs MariaDB)
};

/// Thrown by backend methods to report a native failure; caught and classified by core.
/// Never reaches the application.
class SWITCHBOARD_API native_failure : public std::exception {
public:
    explicit native_failure(native_error e) : error_(std::move(e)) {}
    ~native_failure() override;
    const char* what() const noexcept override { return error_.message.c_str(); }
    const native_error& error() const noexcept { return error_; }
    native_error& error() noexcept { return error_; }

private:
    native_error error_;
};

/// What a classifier decides about a native_error. Start from classification::of(kind),
/// which fills the defaults of that kind, and override a flag where the backend knows better
/// (a wrong password is connect_failed but not transient; MySQL 2014 leaves no usable connection).
struct classification {
    errc kind = errc::other;
    bool transient = false;
    bool connection_usable = true;

    static classification of(errc k) noexcept {
        return {k, is_transient_by_default(k), keeps_connection_by_default(k)};
    }
    friend bool operator==(const classification&, const classification&) = default;
};

/// What a backend can do; the conformance suite is gated on these, never on names.
enum class capability : std::uint32_t {
    none = 0,
    last_insert_id = 1u << 0,         ///< command_result::last_insert_id is filled
    read_only_transactions = 1u << 1, ///< a tx_mode::read transaction refuses writes with errc::read_only
    transactional_ddl = 1u << 2,      ///< CREATE/DROP roll back with the transaction
    named_locks = 1u << 3,            ///< advisory locks by name
    network = 1u << 4,                ///< talks to a server (can be disconnected, restarted, proxied)
    writer_lock = 1u << 5,            ///< serialises write transactions in process (SQLite)
    nan_values = 1u << 6,             ///< a NaN double round-trips (SQLite stores NaN as NULL)
    infinity_values = 1u << 7,        ///< +-infinity doubles round-trip (MySQL's DOUBLE has none)
    nul_in_text = 1u << 8,            ///< text values may hold NUL bytes (PostgreSQL text cannot)
};
constexpr capability operator|(capability a, capability b) noexcept {
    return static_cast<capability>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
constexpr bool has(capability set, capability c) noexcept {
    return (static_cast<std::uint32_t>(set) & static_cast<std::uint32_t>(c)) != 0;
}

/// A prepared statement and, while it runs, its cursor over the result rows.
///
/// Core calls, per run: execute(params), then next_row() until it returns false or core
/// stops early, reading column() of the current row; then reset(). It checks the parameter
/// count against parameter_count() before execute(). Reading happens between next_row()
/// calls only. Views returned by column() are valid until the next next_row() or reset().
class SWITCHBOARD_API backend_statement {
public:
    virtual ~backend_statement();

    /// Number of positional parameters ('?') the statement takes; read once, right after prepare.
    virtual std::size_t parameter_count() const noexcept = 0;

    /// Binds the parameters (exactly parameter_count() of them) and runs the statement up to
    /// its first row or its completion. The views die when execute() returns: a backend whose
    /// library reads bound values again later (SQLite re-reads them on every step) must copy
    /// text and blobs first. Throws native_failure.
    virtual void execute(std::span<const value_view> params) = 0;

    /// Moves to the next row (the first row on the first call after execute()). Returns false
    /// at the end. Throws native_failure.
    virtual bool next_row() = 0;

    virtual std::size_t column_count() const noexcept = 0;
    virtual std::string_view column_name(std::size_t index) const noexcept = 0;

    /// The value of a column of the current row; index < column_count(). Never throws.
    virtual value_view column(std::size_t index) noexcept = 0;

    /// Rows changed by the last execute() of an INSERT/UPDATE/DELETE.
    virtual std::uint64_t affected_rows() const noexcept = 0;

    /// The id generated by the last INSERT, where the backend has one.
    virtual std::optional<std::int64_t> last_insert_id() const noexcept = 0;

    /// Ends the current run (discarding unread rows) and makes the statement ready for the
    /// next execute(). Must not throw.
    virtual void reset() noexcept = 0;
};

/// One native connection. Used by one thread at a time.
class SWITCHBOARD_API backend_connection {
public:
    virtual ~backend_connection();

    /// Prepares a statement with '?' placeholders. Throws native_failure.
    virtual std::unique_ptr<backend_statement> prepare(std::string_view sql) = 0;

    /// Begins a transaction in this mode, with the backend's lock semantics. Throws
    /// native_failure, or switchboard::error (e.g. errc::lock_timeout from an in-process lock).
    virtual void begin(tx_mode mode) = 0;
    virtual void commit() = 0;
    /// Rolls back. Core calls it also after a failure inside the transaction; on a connection
    /// the backend knows to be lost it should return without a round trip.
    virtual void rollback() = 0;

    /// Takes a session-level named lock (PostgreSQL advisory lock, MySQL GET_LOCK), waiting at
    /// most `timeout` (zero: try once). On expiry throws switchboard::error with
    /// errc::lock_timeout (transient, connection usable). Re-taking a lock this connection
    /// holds follows the backend's rules. The default throws usage_error: no named locks
    /// (then do not declare capability::named_locks).
    virtual void lock(std::string_view name, std::chrono::milliseconds timeout);
    /// Releases a named lock this connection holds.
    virtual void unlock(std::string_view name);

    /// The server this connection talks to; may ask the server (one round trip at most).
    /// The default reports an unknown role and no address.
    virtual server_identity identity();

    /// Proves the server still answers, with the cheapest round trip the protocol has (the
    /// pool calls it on a connection idle for a while before handing it out). Throws
    /// native_failure when it does not; a connection without a network (SQLite) returns at
    /// once. Called only when no result is being read. Report failures as operation::ping.
    /// The default prepares and runs "SELECT 1".
    virtual void ping();
};

/// Everything a backend needs to open a connection. Views valid during the call only.
struct connect_request {
    const url& location;            ///< the full URL, password included: never print it
    std::string_view database_name; ///< for messages
};

/// A backend: the factory of connections for its URL schemes, and its classifier.
class SWITCHBOARD_API backend {
public:
    virtual ~backend();

    /// Short lowercase name used in messages, e.g. "sqlite".
    virtual std::string_view name() const noexcept = 0;
    virtual capability capabilities() const noexcept = 0;

    /// Checks a URL before anything connects: unknown or malformed driver options, a host
    /// where none belongs. Throws usage_error, whose message must not contain the password.
    virtual void validate(const url& location) const = 0;

    /// Opens a connection. Throws native_failure (op == operation::connect) or switchboard::error.
    virtual std::unique_ptr<backend_connection> connect(const connect_request& request) = 0;

    /// Pure function: what a native error means. Must not throw, must not do I/O.
    virtual classification classify(const native_error& error) const noexcept = 0;
};

}  // namespace switchboard::spi
