// SPDX-License-Identifier: MIT
// The MySQL/MariaDB driver options, and backend_connection over one MYSQL handle: transactions, locks, identity.
#pragma once

#include <switchboard/spi/backend.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct st_mysql;
struct st_mysql_stmt;

namespace switchboard::mysql {

class mysql_statement;

/// How a connection protects itself with TLS (reliability.md §3.3, BACKRONYM CVE-2015-3152).
enum class ssl_mode : std::uint8_t {
    disabled,         ///< plain TCP (the default when no ssl_* option is given)
    required,         ///< TLS or no connection (MYSQL_OPT_SSL_ENFORCE); the certificate is not checked
    verify_ca,        ///< required + MYSQL_OPT_SSL_VERIFY_SERVER_CERT (Connector/C 3.3 then checks the host name too)
    verify_identity,  ///< required + MYSQL_OPT_SSL_VERIFY_SERVER_CERT: chain and host name
};

/// The parts of a mysql:// or mariadb:// URL a connection uses, validated (backends/mysql/README.md).
struct mysql_options {
    std::string host;                     ///< empty: Connector/C's default ("localhost", the Unix socket)
    unsigned port = 0;                    ///< 0: Connector/C's default (3306)
    std::optional<std::string> user;
    std::optional<std::string> password;  ///< never printed
    std::string database;                 ///< empty: none selected
    unsigned connect_timeout = 0;         ///< seconds; 0: Connector/C's default
    unsigned read_timeout = 0;            ///< seconds; 0: none
    unsigned write_timeout = 0;           ///< seconds; 0: none
    ssl_mode ssl = ssl_mode::disabled;
    std::string ssl_ca, ssl_capath, ssl_cert, ssl_key, ssl_cipher, ssl_crl;

    /// Parses and checks everything in the URL a connection uses; throws usage_error, whose
    /// message never holds the password or an option's value.
    static mysql_options from(const url& location);
};

/// One MYSQL handle. Used by one thread at a time (spi/backend.hpp).
///
/// The wire carries one command at a time: while a statement streams an unbuffered result
/// (the default, so 100k rows never sit in memory twice), any other command on the handle
/// would fail with CR_COMMANDS_OUT_OF_SYNC 2014. The connection therefore remembers which
/// statement is streaming, and before it or any other statement sends a command
/// (make_way), reads the rest of that result into client memory with
/// mysql_stmt_store_result. Only nested use (a statement run while another's result is
/// still open) pays for that.
///
/// Destroying a statement never reads anything: mysql_stmt_close would flush whatever result
/// holds the wire (net_stmt_close, mysql_stmt_internal_reset), so a statement destroyed while
/// a result streams hands its MYSQL_STMT to the connection (retire), which closes it before
/// the next command, or lets mysql_close discard it all when the connection goes first.
class mysql_connection final : public spi::backend_connection {
public:
    /// Connects; throws native_failure (operation::connect) or usage_error.
    mysql_connection(mysql_options options, std::string_view database_name);
    ~mysql_connection() override;
    mysql_connection(const mysql_connection&) = delete;
    mysql_connection& operator=(const mysql_connection&) = delete;

    std::unique_ptr<spi::backend_statement> prepare(std::string_view sql) override;
    void begin(tx_mode mode) override;
    void commit() override;
    void rollback() override;
    void lock(std::string_view name, std::chrono::milliseconds timeout) override;
    void unlock(std::string_view name) override;
    server_identity identity() override;
    void ping() override;

    // ---- for mysql_statement ----------------------------------------------------------------

    st_mysql* handle() const noexcept { return mysql_; }
    const std::string& database_name() const noexcept { return name_; }

    /// Frees the wire for a command from `next` (nullptr: the connection's own command) by
    /// buffering whichever other statement is streaming, then closes retired statements.
    /// Throws native_failure (operation::fetch) if reading the rest of that result fails.
    void make_way(const mysql_statement* next) {
        if (deferred_ && !keep_deferred_) [[unlikely]]
            throw_deferred();
        if (streaming_ != nullptr && streaming_ != next) {
            buffer_streaming();  // may keep that result's own error (defer)
            if (deferred_ && !keep_deferred_) [[unlikely]]
                throw_deferred();
        }
        if (!retired_.empty()) [[unlikely]]
            close_retired();
    }
    mysql_statement* streaming() const noexcept { return streaming_; }
    void set_streaming(mysql_statement* s) noexcept { streaming_ = s; }
    /// Whether a result holds the wire: a live statement's, or a retired one's.
    bool wire_busy() const noexcept { return streaming_ != nullptr || retired_wire_; }
    /// Takes the MYSQL_STMT of a statement being destroyed. Closed at once when the wire is
    /// free; otherwise kept, unread, until the next command (make_way) or mysql_close.
    /// `holds_wire`: its own result is the one streaming (read off the wire, never into
    /// memory, when it is closed before another command; discarded by mysql_close).
    void retire(st_mysql_stmt* stmt, bool holds_wire) noexcept;

    /// A native_error of this connection: the password scrubbed from the message, the
    /// server's version attached, connection_bad set for a client lost-connection code,
    /// transaction_ended set when the failure ended the open transaction (see
    /// ends_transaction). Any error that classifies as disconnected marks this connection
    /// lost: rollback() then makes no round trip.
    spi::native_error native_error_of(spi::operation op, unsigned code, const char* sqlstate, const char* message);
    /// throw native_failure(native_error_of(op, mysql_errno(handle), ...)).
    [[noreturn]] void fail(spi::operation op);
    /// The handle's current error came from the unread rest of a result that was discarded
    /// (a deadlock, statement timeout or lost connection after the rows the caller read).
    /// Inside a transaction: keeps it, and the next command throws it instead of running
    /// (make_way), so core learns that the transaction may have ended. rollback() drops it,
    /// or throws it when it lost the connection; unlock() leaves it for the next command.
    /// Outside a transaction it is dropped with the rows (a lost connection still marks this
    /// one lost).
    void defer_current_error() noexcept;
    /// The same for an error already read: kept inside a transaction, dropped outside one.
    /// `owner`: the statement whose result it ended, which may report it to its own reader
    /// first (drop_deferred_of); nullptr when that result is gone.
    void defer(spi::native_error e, const mysql_statement* owner = nullptr) noexcept;
    /// The owner is destroyed: the error stays, with no reader that could report it first.
    void disown_deferred(const mysql_statement* owner) noexcept {
        if (deferred_owner_ == owner) deferred_owner_ = nullptr;
    }
    /// The owner's reader is about to hear it: hands it over (the connection then no longer
    /// reports it), with transaction_ended intact, so core learns what it means.
    std::optional<spi::native_error> take_deferred_of(const mysql_statement* owner) noexcept {
        std::optional<spi::native_error> out;
        if (deferred_ && deferred_owner_ == owner) {
            out.swap(deferred_);
            deferred_owner_ = nullptr;
        }
        return out;
    }
    /// Whether the connection is known to be lost (rollback() then makes no round trip).
    bool lost() const noexcept { return lost_; }
    void mark_lost() noexcept { lost_ = true; }

private:
    void configure();
    void buffer_streaming();
    [[noreturn]] void throw_deferred();
    void close_retired() noexcept;
    // Whether a failure with this error number, inside the transaction begin() opened, ended
    // that transaction on the server. May ask the server once (innodb_rollback_on_timeout).
    bool ends_transaction(unsigned code) noexcept;
    bool rollback_on_timeout() noexcept;
    void query(std::string_view sql, spi::operation op);  // a statement with no result (mysql_real_query)
    std::unique_ptr<mysql_statement> prepare_statement(std::string_view sql);
    // Runs a one-row, one-column SELECT of the lock functions; nullopt for SQL NULL.
    std::optional<std::int64_t> lock_call(std::unique_ptr<mysql_statement>& stmt, std::string_view sql,
                                          std::span<const value_view> params);

    mysql_options options_;
    std::string name_;    // database name, for messages
    std::string server_;  // mysql_get_server_info, e.g. "10.11.19-MariaDB"
    st_mysql* mysql_ = nullptr;
    mysql_statement* streaming_ = nullptr;  // the statement whose unbuffered result holds the wire
    std::optional<spi::native_error> deferred_;  // see defer_current_error()
    const mysql_statement* deferred_owner_ = nullptr;
    bool keep_deferred_ = false;  // set while unlock() runs: it never throws deferred_
    // MYSQL_STMTs of destroyed statements, not closed yet because a result held the wire. With
    // retired_wire_, the first one's own unread result holds the wire (close it first).
    std::vector<st_mysql_stmt*> retired_;
    bool retired_wire_ = false;
    bool lost_ = false;                     // a lost-connection code was seen
    bool in_tx_ = false;                    // begin() succeeded; no commit() or rollback() since
    std::optional<bool> rollback_on_timeout_;  // @@innodb_rollback_on_timeout, read at the first 1205
    std::unique_ptr<mysql_statement> get_lock_;      // SELECT GET_LOCK(?, ?), prepared at first use
    std::unique_ptr<mysql_statement> release_lock_;  // SELECT RELEASE_LOCK(?)
};

/// The authentication plugins a connection in this TLS mode accepts (MARIADB_OPT_RESTRICTED_AUTH),
/// comma-separated. Never mysql_clear_password, dialog or sha256_password: they send the
/// password itself. caching_sha2_password only with a verified certificate (verify_ca,
/// verify_identity): its full authentication sends the password in the clear inside TLS, and
/// Connector/C 3.3 also in the clear without TLS whenever an ssl option is set, or encrypted
/// with an RSA key the server supplies. See README.md, TLS.
std::string_view allowed_auth_plugins(ssl_mode mode) noexcept;

/// The name GET_LOCK sees: `name` itself up to 64 bytes (MariaDB's limit is 64 characters),
/// else "sb:" and a 128-bit hash of it in hex. Two long names that collide would only
/// exclude each other, never let two holders in.
std::string lock_key(std::string_view name);

}  // namespace switchboard::mysql
