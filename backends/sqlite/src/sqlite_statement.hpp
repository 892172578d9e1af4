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

/// A prepared statement. Takes ownership of `stmt` (finalized in the destructor, which core
/// runs before the connection closes). One thread at a time, as its connection.
/// `read_transaction` points at the connection's flag: while it is set, execute() refuses a
/// statement that writes (sqlite3_stmt_readonly) with SQLITE_READONLY.
///
/// Per run nothing is allocated: parameters are bound in place, columns are read as views
/// into SQLite's row buffer. Text and blob parameters of a statement that returns rows are
/// copied into a reusable buffer first, because SQLite reads bound values again on every
/// step and core's parameter views die when execute() returns (spi/backend.hpp, Lifetimes).
class sqlite_statement final : public spi::backend_statement {
public:
    sqlite_statement(sqlite3* db, sqlite3_stmt* stmt, const bool* read_transaction);
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
    std::optional<std::int64_t> last_insert_id() const noexcept override { return last_insert_id_; }
    void reset() noexcept override;

private:
    void bind(std::span<const value_view> params);
    bool step(spi::operation op);  // true: a row; false: done; throws on error
    [[noreturn]] static void refuse_write();
    [[noreturn]] static void refuse_nan(int index);

    sqlite3* db_;
    sqlite3_stmt* stmt_;
    const bool* read_transaction_;
    std::size_t parameter_count_;
    std::vector<std::string> names_;  // copied at prepare: SQLite's pointers die on re-prepare
    std::vector<char> arena_;         // owned copies of text/blob parameters (statements with rows)
    bool readonly_ = false;           // sqlite3_stmt_readonly at prepare: changes nothing (SELECT)
    bool running_ = false;            // stepped since the last reset
    bool has_row_ = false;            // a current row is available
    bool first_pending_ = false;      // next_row() returns the row execute() stepped to
    std::int64_t changes_before_ = 0;
    std::uint64_t affected_rows_ = 0;
    std::int64_t last_insert_id_ = 0;
};

}  // namespace switchboard::sqlite
