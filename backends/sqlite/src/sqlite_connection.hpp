// SPDX-License-Identifier: MIT
// The SQLite driver options, and backend_connection over one sqlite3 handle with its locking.
#pragma once

#include "sqlite_statement.hpp"
#include "writer_lock.hpp"

#include <switchboard/spi/backend.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace switchboard::sqlite {

/// The driver options of a sqlite URL, validated (see backends/sqlite/README.md).
struct sqlite_options {
    std::string path;                                     ///< file path or ":memory:"
    bool memory = false;                                  ///< ":memory:": private to its connection
    std::chrono::milliseconds busy_timeout{5000};         ///< busy_timeout
    std::chrono::milliseconds writer_lock_timeout{5000};  ///< writer_lock_timeout, default busy_timeout
    int open_flags = 0;                                   ///< mode: ro | rw | rwc
    bool read_only = false;                               ///< mode=ro
    std::string journal_mode;                             ///< empty: leave SQLite's
    std::string synchronous;                              ///< empty: leave SQLite's
    bool foreign_keys = true;                             ///< foreign_keys
    bool begin_immediate = true;                          ///< write_begin=immediate (deferred: demo only)
    bool writer_lock = true;                              ///< writer_lock=on (off: demo only)

    /// Parses and checks everything in the URL a connection uses; throws usage_error.
    static sqlite_options from(const url& location);
};

/// One sqlite3 handle, opened with SQLITE_OPEN_NOMUTEX: core uses it from one thread at a
/// time. Write transactions take the file's writer_lock, then BEGIN IMMEDIATE; read
/// transactions are a deferred BEGIN, and their statements refuse to write (see
/// sqlite_statement::execute). When SQLite ends a transaction by itself after an error, the
/// failing statement reports native_error::transaction_ended; rollback() then only releases
/// the writer lock.
class sqlite_connection final : public spi::backend_connection {
public:
    /// Opens and configures the database; throws native_failure (operation::connect).
    sqlite_connection(sqlite_options options, std::string_view database_name);
    ~sqlite_connection() override;
    sqlite_connection(const sqlite_connection&) = delete;
    sqlite_connection& operator=(const sqlite_connection&) = delete;

    std::unique_ptr<spi::backend_statement> prepare(std::string_view sql) override;
    void begin(tx_mode mode) override;
    void commit() override;
    void rollback() override;
    /// In-process: there is no server that could have gone away.
    void ping() override {}

private:
    // Transaction control statements, prepared once: BEGIN/COMMIT through sqlite3_exec would
    // parse the text on every transaction.
    enum class control : std::uint8_t { begin_immediate, begin_deferred, commit, rollback };

    void configure();
    void exec(const char* sql, spi::operation op);
    void run(control c, spi::operation op);  // throws native_failure, leaving the statement reset
    void finish() noexcept;                  // the transaction has ended: release the writer lock

    sqlite_options options_;
    std::string name_;                  // database name, for messages
    sqlite3* db_ = nullptr;
    std::array<sqlite3_stmt*, 4> control_{};
    std::shared_ptr<writer_lock> lock_; // null for :memory: and writer_lock=off
    bool holds_lock_ = false;
    transaction_state tx_;              // read by this connection's statements
    std::uint64_t compilations_ = 0;    // (re)prepares seen by the authorizer; read by statements
};

}  // namespace switchboard::sqlite
