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
/// Statements are server-side prepared statements named "sb1", "sb2", ... in this session.
/// A destroyed statement is only remembered here; its DEALLOCATE goes out with the next
/// prepare() made outside a transaction, so destructors never do I/O and a failed
/// DEALLOCATE can never abort the caller's transaction.
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

    /// Reports a failed libpq call as native_failure: native_error_of(conn, result, op),
    /// completed, when the connection is gone, by the FATAL the server sent before closing
    /// (which libpq hands to the notice receiver when it arrives between queries:
    /// fe-protocol3.c, pqParseInput3, "unexpected message in IDLE state"). Clears `result`.
    [[noreturn]] void fail(pg_result* result, spi::operation op);

    /// A statement of this connection was destroyed: deallocate its server-side prepared
    /// statement later (see the class comment). Never throws.
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
    std::uint64_t statement_serial_ = 0;
    std::vector<std::string> retired_;  // names of destroyed statements still prepared on the server
    std::string farewell_sqlstate_;     // the last FATAL (or session-ending) notice: why the server left
    std::string farewell_message_;
};

}  // namespace switchboard::postgresql
