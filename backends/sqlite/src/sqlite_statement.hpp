// SPDX-License-Identifier: MIT
// backend_statement over one sqlite3_stmt: bind, step, read columns; the hot path.
#pragma once

#include <switchboard/spi/backend.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace switchboard::sqlite {

/// What a connection believes about its transaction, shared with its statements (which read
/// it, through a pointer, for as long as they live: core destroys them first).
struct transaction_state {
    bool open = false;  ///< begin() succeeded and neither commit() nor rollback() has ended it
    bool read = false;  ///< open, in tx_mode::read: statements that write are refused
};

/// A prepared statement. Takes ownership of `stmt` (finalized in the destructor, which core
/// runs before the connection closes). One thread at a time, as its connection.
/// `tx` is the connection's transaction_state: while `read` is set, execute() refuses a
/// statement that writes (sqlite3_stmt_readonly) with SQLITE_READONLY; while `open` is set, a
/// failed step that made SQLite end the transaction on its own (sqlite3_get_autocommit again)
/// reports native_error::transaction_ended. `inserts`: the statement's leading keyword is
/// INSERT or REPLACE (see last_insert_id()).
///
/// Column names are read at prepare and again whenever SQLite has re-prepared the statement
/// (a schema change: ALTER TABLE under a cached `SELECT *`), which execute() notices by
/// sqlite3_stmt_status(SQLITE_STMTSTATUS_REPREPARE) after its first step.
///
/// Per run nothing is allocated: parameters are bound in place, columns are read as views
/// into SQLite's row buffer. Text and blob parameters of a statement that returns rows are
/// copied into a reusable buffer first, because SQLite reads bound values again on every
/// step and core's parameter views die when execute() returns (spi/backend.hpp, Lifetimes).
class sqlite_statement final : public spi::backend_statement {
public:
    sqlite_statement(sqlite3* db, sqlite3_stmt* stmt, const transaction_state* tx, const std::uint64_t* compilations,
                     bool inserts);
    ~sqlite_statement() override;
    sqlite_statement(const sqlite_statement&) = delete;
    sqlite_statement& operator=(const sqlite_statement&) = delete;

    std::size_t parameter_count() const noexcept override { return parameter_count_; }
    void execute(std::span<const value_view> params) override;
    bool next_row() override;
    std::size_t column_count() const noexcept override { return names_.size(); }
    std::string_view column_name(std::size_t index) const noexcept override { return names_[index]; }
    value_view column(std::size_t index) noexcept override;
    std::uint64_t affected_rows() const noexcept override { return affected_rows_; }
    /// The rowid of the row this run inserted: set only if the run changed rows and either
    /// the statement is an INSERT/REPLACE or sqlite3_last_insert_rowid moved during the run
    /// (`WITH ... INSERT`); an ignored INSERT OR IGNORE or an UPDATE gives nullopt.
    std::optional<std::int64_t> last_insert_id() const noexcept override { return last_insert_id_; }
    void reset() noexcept override;

private:
    void bind(std::span<const value_view> params);
    bool step(spi::operation op);  // true: a row; false: done; throws on error
    void load_names();             // names_ from the statement as now prepared
    [[noreturn]] void fail(spi::operation op, int rc);
    [[noreturn]] static void refuse_write();
    [[noreturn]] static void refuse_nan(int index);

    sqlite3* db_;
    sqlite3_stmt* stmt_;
    const transaction_state* tx_;
    const std::uint64_t* compilations_;  // the connection's count of (re)prepares
    std::uint64_t compilations_seen_ = 0;  // its value when names_ were last checked
    std::size_t parameter_count_;
    std::vector<std::string> names_;  // copied at prepare and re-prepare: SQLite's pointers die then
    std::vector<char> arena_;         // owned copies of text/blob parameters (statements with rows)
    int reprepares_ = 0;              // SQLITE_STMTSTATUS_REPREPARE when names_ were read
    bool readonly_ = false;           // sqlite3_stmt_readonly at prepare: changes nothing (SELECT)
    bool inserts_ = false;            // leading keyword INSERT or REPLACE
    bool running_ = false;            // stepped since the last reset
    bool has_row_ = false;            // a current row is available
    bool first_pending_ = false;      // next_row() returns the row execute() stepped to
    std::int64_t changes_before_ = 0;
    std::int64_t rowid_before_ = 0;   // sqlite3_last_insert_rowid before the run (not inserts_)
    std::uint64_t affected_rows_ = 0;
    std::optional<std::int64_t> last_insert_id_;
};

}  // namespace switchboard::sqlite
