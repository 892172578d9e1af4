// SPDX-License-Identifier: MIT
// backend_statement over one sqlite3_stmt: bind, step, read columns, with no allocation per run.
#include "sqlite_statement.hpp"

#include "sqlite_classifier.hpp"

#include <sqlite3.h>

#include <cmath>
#include <cstring>
#include <string>
#include <variant>

namespace switchboard::sqlite {

namespace {
// A non-null pointer for empty text and blobs: sqlite3_bind_blob64 with a null pointer binds
// NULL, not an empty blob (c3ref/bind_blob.html), and string_view{} has a null data().
constexpr char empty_bytes[1] = {0};
}  // namespace

sqlite_statement::sqlite_statement(sqlite3* db, sqlite3_stmt* stmt, const transaction_state* tx,
                                   const std::uint64_t* compilations, bool inserts)
    : db_(db),
      stmt_(stmt),
      tx_(tx),
      compilations_(compilations),
      parameter_count_(static_cast<std::size_t>(sqlite3_bind_parameter_count(stmt))),
      readonly_(sqlite3_stmt_readonly(stmt) != 0),
      inserts_(inserts) {
    try {
        load_names();
    } catch (...) {
        sqlite3_finalize(stmt_);
        throw;
    }
}

void sqlite_statement::load_names() {
    // Assigned in place: a re-prepare that keeps the columns (a bound value that changed the
    // query plan, c3ref/c_stmtstatus_counter.html) reuses the strings' buffers.
    const int n = sqlite3_column_count(stmt_);
    names_.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const char* name = sqlite3_column_name(stmt_, i);  // null only when out of memory
        names_[static_cast<std::size_t>(i)].assign(name != nullptr ? name : "");
    }
    reprepares_ = sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_REPREPARE, 0);
    compilations_seen_ = *compilations_;
}

sqlite_statement::~sqlite_statement() { sqlite3_finalize(stmt_); }

void sqlite_statement::bind(std::span<const value_view> params) {
    // Core checks the count; should fewer arrive, stale bindings must not point into dead
    // buffers.
    if (params.size() < parameter_count_) sqlite3_clear_bindings(stmt_);
    // A statement without result columns (INSERT, UPDATE, DELETE, DDL) runs to completion in
    // the first sqlite3_step, inside execute(), so the caller's buffers can be bound as they
    // are (SQLITE_STATIC). One that returns rows reads its parameters again on later steps:
    // copy them into arena_, which only ever grows, so a warm statement does not allocate.
    const bool copy = !names_.empty();
    if (copy) {
        std::size_t need = 0;
        for (const value_view& v : params) {
            if (const auto* s = std::get_if<std::string_view>(&v)) need += s->size();
            else if (const auto* b = std::get_if<bytes_view>(&v)) need += b->size;
        }
        if (arena_.size() < need) arena_.resize(need);
    }
    char* out = arena_.data();
    const auto place = [&](const void* data, std::size_t size) -> const void* {
        if (size == 0) return empty_bytes;
        if (!copy) return data;
        std::memcpy(out, data, size);
        const void* placed = out;
        out += size;
        return placed;
    };

    int index = 0;
    for (const value_view& v : params) {
        ++index;
        int rc = SQLITE_OK;
        switch (type_of(v)) {
            case value_type::null: rc = sqlite3_bind_null(stmt_, index); break;
            case value_type::boolean: rc = sqlite3_bind_int(stmt_, index, *std::get_if<bool>(&v) ? 1 : 0); break;
            case value_type::int64: rc = sqlite3_bind_int64(stmt_, index, *std::get_if<std::int64_t>(&v)); break;
            case value_type::float64: {
                const double d = *std::get_if<double>(&v);
                if (std::isnan(d)) refuse_nan(index);
                rc = sqlite3_bind_double(stmt_, index, d);
                break;
            }
            case value_type::text: {
                // Exact length: text may hold NUL bytes, and must not be scanned for one.
                const std::string_view s = *std::get_if<std::string_view>(&v);
                rc = sqlite3_bind_text64(stmt_, index, static_cast<const char*>(place(s.data(), s.size())),
                                         s.size(), SQLITE_STATIC, SQLITE_UTF8);
                break;
            }
            case value_type::blob: {
                const bytes_view b = *std::get_if<bytes_view>(&v);
                rc = sqlite3_bind_blob64(stmt_, index, place(b.data, b.size), b.size, SQLITE_STATIC);
                break;
            }
        }
        if (rc != SQLITE_OK) throw_native(db_, spi::operation::execute, rc);
    }
}

void sqlite_statement::refuse_write() {
    // A deferred BEGIN does not stop writes; tx_mode::read promises that it does. The same
    // code and kind as SQLite's own refusal (rescode.html#readonly).
    spi::native_error e;
    e.op = spi::operation::execute;
    e.code = SQLITE_READONLY;
    e.message = "attempt to write in a read transaction; begin(tx_mode::write) to write";
    throw spi::native_failure(std::move(e));
}

void sqlite_statement::refuse_nan(int index) {
    // SQLite stores a NaN as NULL (c3ref/bind_blob.html): refuse rather than lose it
    // silently. SQLITE_MISMATCH, "datatype mismatch", is classified as errc::usage.
    spi::native_error e;
    e.op = spi::operation::execute;
    e.code = SQLITE_MISMATCH;
    e.message = "parameter " + std::to_string(index) +
                " is NaN, which SQLite would store as NULL; bind null explicitly if that is meant";
    throw spi::native_failure(std::move(e));
}

void sqlite_statement::fail(spi::operation op, int rc) {
    spi::native_error e = native_error_of(db_, op, rc);
    // Some errors make SQLite roll the whole transaction back by itself: INSERT OR ROLLBACK
    // and RAISE(ROLLBACK) (lang_conflict.html, lang_createtrigger.html), and possibly FULL,
    // IOERR, BUSY, NOMEM, INTERRUPT (lang_transaction.html, "Response To Errors Within A
    // Transaction"). The connection is then back in autocommit mode, where each later
    // statement would commit on its own: say so, and core refuses them until rollback().
    e.transaction_ended = tx_->open && sqlite3_get_autocommit(db_) != 0;
    throw spi::native_failure(std::move(e));
}

bool sqlite_statement::step(spi::operation op) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail(op, rc);
    // sqlite3_changes64 keeps the count of the connection's last INSERT/UPDATE/DELETE, so it
    // belongs to this run only if the connection's total moved meanwhile (not for a SELECT or
    // DDL) (c3ref/changes.html).
    affected_rows_ = !readonly_ && sqlite3_total_changes64(db_) != changes_before_
                         ? static_cast<std::uint64_t>(sqlite3_changes64(db_))
                         : 0;
    // sqlite3_last_insert_rowid is the connection's last successful INSERT into a rowid
    // table, whoever ran it (c3ref/last_insert_rowid.html): it belongs to this run only if
    // the run changed rows and is an INSERT/REPLACE (which may reuse the same rowid), or the
    // value moved (a `WITH ... INSERT`). An ignored INSERT OR IGNORE or an UPDATE gets none.
    if (affected_rows_ > 0) {
        const std::int64_t rowid = sqlite3_last_insert_rowid(db_);
        if (inserts_ || rowid != rowid_before_) last_insert_id_ = rowid;
    }
    return false;
}

void sqlite_statement::execute(std::span<const value_view> params) {
    if (running_) reset();  // core resets after every run; this keeps a missed one harmless
    if (tx_->read && !readonly_) refuse_write();
    bind(params);
    if (!readonly_) {  // see step(); a statement that changes nothing never sets last_insert_id_
        changes_before_ = sqlite3_total_changes64(db_);
        if (!inserts_) rowid_before_ = sqlite3_last_insert_rowid(db_);
        last_insert_id_.reset();
    }
    affected_rows_ = 0;
    running_ = true;
    first_pending_ = true;
    has_row_ = false;
    has_row_ = step(spi::operation::execute);
    // SQLite re-prepares a statement inside sqlite3_step when the schema changed since the
    // last run (ALTER TABLE under a cached `SELECT *`): columns may have come, gone or been
    // renamed, and names_ must follow (core reads column_count() after every execute()).
    // Only the first step can re-prepare: from then on the run holds its read transaction.
    // The connection's compile counter moves on any (re)prepare; only then is the statement's
    // own re-prepare counter asked.
    if (*compilations_ != compilations_seen_) [[unlikely]] {
        if (sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_REPREPARE, 0) != reprepares_) load_names();
        compilations_seen_ = *compilations_;
    }
}

bool sqlite_statement::next_row() {
    if (first_pending_) {
        first_pending_ = false;
        return has_row_;
    }
    // Never step past SQLITE_DONE: the next sqlite3_step would silently run the statement again.
    if (!has_row_) return false;
    has_row_ = false;
    has_row_ = step(spi::operation::fetch);
    return has_row_;
}

value_view sqlite_statement::column(std::size_t index) noexcept {
    // One column lookup, then cheap reads of the value. sqlite3_column_value gives an
    // "unprotected" value, which the sqlite3_value_* readers accept when the connection has no
    // mutex, as here (SQLITE_OPEN_NOMUTEX: c3ref/value.html, c3ref/open.html); this halves the
    // library calls of sqlite3_column_type followed by sqlite3_column_<type>.
    sqlite3_value* v = sqlite3_column_value(stmt_, static_cast<int>(index));
    switch (sqlite3_value_type(v)) {
        case SQLITE_INTEGER: return value_view(std::in_place_type<std::int64_t>, sqlite3_value_int64(v));
        case SQLITE_FLOAT: return value_view(std::in_place_type<double>, sqlite3_value_double(v));
        case SQLITE_TEXT: {
            // Pointer first, then the length (c3ref/column_blob.html: that order avoids a conversion).
            const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
            const auto n = static_cast<std::size_t>(sqlite3_value_bytes(v));
            return value_view(std::in_place_type<std::string_view>, p != nullptr ? p : empty_bytes, n);
        }
        case SQLITE_BLOB: {
            // A zero-length blob comes back as a null pointer.
            const void* p = sqlite3_value_blob(v);
            const auto n = static_cast<std::size_t>(sqlite3_value_bytes(v));
            return value_view(std::in_place_type<bytes_view>,
                              static_cast<const std::byte*>(p != nullptr ? p : empty_bytes), n);
        }
        default: return value_view(std::in_place_type<null_t>);
    }
}

void sqlite_statement::reset() noexcept {
    // sqlite3_reset repeats the last step's error code, which was already reported.
    if (running_) sqlite3_reset(stmt_);
    running_ = false;
    has_row_ = false;
    first_pending_ = false;
}

}  // namespace switchboard::sqlite
