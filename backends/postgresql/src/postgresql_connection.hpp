// SPDX-License-Identifier: MIT
// The PostgreSQL driver options, and backend_connection over one PGconn: prepare, transactions, advisory locks.
#pragma once

#include <switchboard/spi/backend.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pg_conn;
struct pg_result;

namespace switchboard::postgresql {

/// A postgresql URL turned into libpq connection keywords, validated (see
/// backends/postgresql/README.md). Holds the password while a connection is being opened;
/// never print it.
struct postgresql_options {
    /// keyword/value pairs for PQconnectdbParams, in order: host, port, user, password,
    /// dbname, client_encoding, fallback_application_name, then the URL's driver options.
    std::vector<std::pair<std::string, std::string>> parameters;
    bool numeric_as_double = false;  ///< numeric=double: NUMERIC columns read as double

    /// Parses and checks everything in the URL a connection uses; throws usage_error, whose
    /// message names option keys (and values of options that are not secret) only.
    static postgresql_options from(const url& location);

    /// The password the URL carries, or empty: scrubbed from connect error messages.
    std::string_view password() const noexcept;
};

/// One libpq connection (PGconn), opened with PQconnectdbParams from the keyword arrays,
/// never from a conninfo string, so no value is ever parsed as conninfo syntax. Used by one
/// thread at a time, as every backend_connection.
///
/// Statements are server-side prepared statements named "sb1", "sb2", ... in this session;
/// every PREPARE takes a new name (prepare_named), never one used before. A destroyed or
/// re-prepared statement's old name is only remembered here (retire); its DEALLOCATE goes
/// out with the next PREPARE made outside a transaction, so destructors never do I/O and a
/// failed DEALLOCATE can never abort the caller's transaction.
///
/// The connection follows its own transaction (begin() to commit()/rollback()): a failure
/// after which the server holds no transaction any more (a COMMIT refused by a deferred
/// constraint or a serialization failure, a COMMIT answered with ROLLBACK) is reported with
/// native_error::transaction_ended, so that core refuses the rest of it until rollback().
class postgresql_connection final : public spi::backend_connection {
public:
    /// Connects; throws native_failure (operation::connect) with libpq's message (password
    /// scrubbed), or usage_error when the session refuses UTF8.
    postgresql_connection(const postgresql_options& options, std::string_view database_name);
    ~postgresql_connection() override;
    postgresql_connection(const postgresql_connection&) = delete;
    postgresql_connection& operator=(const postgresql_connection&) = delete;

    std::unique_ptr<spi::backend_statement> prepare(std::string_view sql) override;
    void begin(tx_mode mode) override;
    void commit() override;
    void rollback() override;
    void lock(std::string_view name, std::chrono::milliseconds timeout) override;
    void unlock(std::string_view name) override;
    server_identity identity() override;
    void ping() override;

    /// Reports a failed libpq call as native_failure: native_error_of(conn, result, op),
    /// completed, when the connection is gone, by the FATAL the server sent before closing
    /// (which libpq hands to the notice receiver when it arrives between queries:
    /// fe-protocol3.c, pqParseInput3, "unexpected message in IDLE state"). Clears `result`.
    /// Sets native_error::transaction_ended when a transaction was open (begin() without
    /// commit()/rollback() since) and the server now holds none (PQTRANS_IDLE).
    [[noreturn]] void fail(pg_result* result, spi::operation op);

    /// PREPAREs `sql` (with $n parameters) under a new name "sbN" and returns the name.
    /// `types` holds `parameters` type OIDs (0: the server infers it), or is null. Sends the
    /// pending DEALLOCATEs first when outside a transaction. Throws native_failure
    /// (operation::prepare); nothing was prepared then, and the name is never used.
    std::string prepare_named(const std::string& sql, int parameters, const unsigned* types);

    /// A server-side prepared statement of this connection is no longer used (its statement
    /// was destroyed, or prepared again under a new name): deallocate it later (see the class
    /// comment). An empty name (never prepared) is ignored. Never throws.
    void retire(std::string statement_name) noexcept;

    /// The 64-bit advisory lock key of a lock name: FNV-1a 64 over its bytes, as a signed
    /// 64-bit value (the bit pattern unchanged). Stable across versions and platforms.
    static std::int64_t lock_key(std::string_view name) noexcept;

private:
    void command(const char* sql, spi::operation op);  // PQexec expecting PGRES_COMMAND_OK
    bool query_bool(const char* sql, std::int64_t key, spi::operation op);  // one bool from one bigint
    void deallocate_retired() noexcept;
    static void on_notice(void* self, const pg_result* notice) noexcept;

    pg_conn* conn_ = nullptr;
    std::string name_;  // database name, for messages
    bool numeric_as_double_ = false;
    bool in_transaction_ = false;       // begin() succeeded; no commit()/rollback() since
    std::uint64_t statement_serial_ = 0;
    std::vector<std::string> retired_;  // names no statement uses any more, still prepared on the server
    std::string farewell_sqlstate_;     // the last FATAL (or session-ending) notice: why the server left
    std::string farewell_message_;
};

}  // namespace switchboard::postgresql
