// SPDX-License-Identifier: MIT
// backend_statement over one MYSQL_STMT: bind, execute, fetch and decode, with no allocation per run once warm.
#include "mysql_statement.hpp"

#include "mysql_classifier.hpp"
#include "mysql_connection.hpp"

#include <errmsg.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <variant>

namespace switchboard::mysql {

namespace {

// Text and blob parameters up to this size are copied into the statement (param_slot::bytes),
// so that their binding never changes from run to run; longer ones are read from the caller's
// memory. Copying 4 KiB costs less than one re-bind, which re-sends every parameter's type.
constexpr std::size_t min_copied_param = 32;
constexpr std::size_t max_copied_param = 4096;

// Result buffers start at the column's declared byte length, within these bounds, and grow
// for a longer value. Buffers grown past `keep_limit` are freed when the run ends, so a cached
// statement that once read a 16 MiB blob does not pin it.
constexpr std::size_t min_buffer = 32;
constexpr std::size_t max_initial_buffer = 4096;
constexpr std::size_t keep_limit = std::size_t{1} << 20;

std::size_t initial_capacity(unsigned long declared) noexcept {
    const std::size_t want = static_cast<std::size_t>(declared) + 1;  // room for Connector/C's terminating NUL
    return std::clamp(want, min_buffer, max_initial_buffer);
}

}  // namespace

mysql_statement::mysql_statement(mysql_connection& conn, MYSQL_STMT* stmt, std::string_view sql)
    : conn_(conn), stmt_(stmt) {
    try {
        sql_.assign(sql);
        params_.resize(mysql_stmt_param_count(stmt_));
        param_binds_.assign(params_.size(), MYSQL_BIND{});  // value-initialised: all zero
        multi_ = mysql_stmt_field_count(stmt_) == 0;
        if (!multi_) {
            // The result metadata of COM_STMT_PREPARE. Its fields array is the statement's own,
            // which mysql_stmt_execute updates in place when a column's type changes (mariadb_stmt.c,
            // stmt_read_execute_response), so keeping it lets execute() notice a change without
            // allocating a new MYSQL_RES per run.
            meta_ = mysql_stmt_result_metadata(stmt_);
            if (meta_ == nullptr) fail(spi::operation::prepare);
            setup_columns();
        }
    } catch (...) {
        if (meta_ != nullptr) mysql_free_result(meta_);
        mysql_stmt_close(stmt_);
        throw;
    }
}

mysql_statement::~mysql_statement() {
    // Never reads anything: mysql_stmt_close would read the unread rows of whatever result
    // holds the wire, this statement's or another's (net_stmt_close flushes whenever the
    // handle is not ready), and buffering another's would pull all of it into memory. The
    // connection closes the handle now if the wire is free, else later (retire).
    const bool holds_wire = conn_.streaming() == this;
    if (holds_wire) conn_.set_streaming(nullptr);
    conn_.disown_deferred(this);
    if (meta_ != nullptr) mysql_free_result(meta_);  // frees the MYSQL_RES only, not the fields
    conn_.retire(stmt_, holds_wire);
}

spi::native_error mysql_statement::error_of(spi::operation op) {
    // A failure while reading rows off the wire (stmt_unbuffered_fetch: a lost connection, or
    // an error packet mid-result such as 1969 max_statement_time) is left on the MYSQL handle
    // only, with the statement's own error number still 0 (mariadb_stmt.c, mysql_stmt_fetch).
    if (mysql_stmt_errno(stmt_) == 0) [[unlikely]] {
        MYSQL* m = conn_.handle();
        return conn_.native_error_of(op, mysql_errno(m), mysql_sqlstate(m), mysql_error(m));
    }
    return conn_.native_error_of(op, mysql_stmt_errno(stmt_), mysql_stmt_sqlstate(stmt_), mysql_stmt_error(stmt_));
}

void mysql_statement::fail(spi::operation op) { throw spi::native_failure(error_of(op)); }

bool mysql_statement::skip_more_results() noexcept {
    // An error packet ends the procedure's results (it clears SERVER_MORE_RESULTS_EXIST). It
    // comes either instead of a result set's metadata (next_result fails) or among its rows,
    // after the metadata (free_result reads it into the handle and stops).
    MYSQL* m = conn_.handle();
    bool ok = true;
    while (ok && mysql_stmt_more_results(stmt_)) {
        if (mysql_stmt_next_result(stmt_) != 0) {
            ok = mysql_stmt_errno(stmt_) == 0 && mysql_errno(m) == 0;
            break;
        }
        // Rows (of a later SELECT) may end in an error; the final status of the CALL has none.
        const bool rows = mysql_stmt_field_count(stmt_) != 0;
        mysql_stmt_free_result(stmt_);
        meta_stale_ = true;
        if (rows) ok = mysql_errno(m) == 0;
    }
    if (conn_.streaming() == this) conn_.set_streaming(nullptr);
    return ok;
}

void mysql_statement::keep_failure(spi::native_error e) {
    // Found while making way for another command: the error is this statement's, so its
    // reader gets it. Outside a transaction the other command runs; inside one it reports the
    // error instead of running (the procedure's work may be half done, or the transaction
    // over), so that a COMMIT never goes through over it. A lost connection fails it.
    done_ = true;
    // A client-side failure (CR_*, e.g. out of memory while storing rows) may leave rows on
    // the wire: nothing else can safely run on it.
    if (e.code >= 2000 && e.code < 3000) e.connection_bad = true;
    // mysql_stmt_store_result failing leaves the statement expecting unbuffered rows that
    // will never come: the next execute would wait for them. Reset it on the server.
    if (!e.connection_bad && !conn_.lost() && mysql_stmt_reset(stmt_) != 0 &&
        is_lost_connection_code(mysql_stmt_errno(stmt_)))
        e.connection_bad = true;
    if (e.connection_bad || conn_.lost()) {
        pending_ = std::make_exception_ptr(spi::native_failure(e));
        conn_.mark_lost();
        e.not_sent = true;         // the command that needed the wire never went out
        e.in_other_result = true;  // core judges by the open result what may have committed
        e.other_statement = this;
        throw spi::native_failure(std::move(e));
    }
    // The reader's copy does not say the transaction ended: the connection's copy reports
    // that (inside a transaction; the reader takes it over if it reads first), and a reader
    // reading after a later begin() must not mark that transaction aborted.
    spi::native_error for_reader = e;
    for_reader.transaction_ended = false;
    pending_ = std::make_exception_ptr(spi::native_failure(std::move(for_reader)));
    conn_.defer(std::move(e), this);  // inside a transaction the command that made way reports it
}

void mysql_statement::refuse_double(std::size_t index, double d) {
    // MySQL and MariaDB DOUBLE has no NaN or infinity: the server refuses or mangles them.
    // Refused here, before anything is sent, as the SQLite backend refuses NaN.
    throw_usage("parameter " + std::to_string(index + 1) + " is " + (std::isnan(d) ? "NaN" : "infinite") +
                    ", which MySQL and MariaDB cannot store in a DOUBLE; bind null explicitly if that is meant",
                "mysql");
}

// ---- result metadata ---------------------------------------------------------------------

mysql_statement::column_kind mysql_statement::kind_of(const MYSQL_FIELD& field) noexcept {
    // charsetnr 63 is "binary": BINARY, VARBINARY and BLOB columns (refman
    // c-api-data-structures.html: "to distinguish between binary and nonbinary data ... check
    // whether the charsetnr value is 63").
    const bool binary = field.charsetnr == 63;
    switch (field.type) {
        case MYSQL_TYPE_NULL: return column_kind::null;
        case MYSQL_TYPE_TINY:
        case MYSQL_TYPE_SHORT:
        case MYSQL_TYPE_INT24:
        case MYSQL_TYPE_LONG:
        case MYSQL_TYPE_YEAR: return column_kind::int64;
        case MYSQL_TYPE_LONGLONG: return (field.flags & UNSIGNED_FLAG) != 0 ? column_kind::uint64 : column_kind::int64;
        case MYSQL_TYPE_FLOAT:
        case MYSQL_TYPE_DOUBLE: return column_kind::float64;
        case MYSQL_TYPE_DECIMAL:
        case MYSQL_TYPE_NEWDECIMAL: return column_kind::decimal;
        case MYSQL_TYPE_BIT: return column_kind::bit;
        // Connector/C formats these as text when fetched into a string buffer
        // (ma_stmt_codec.c, ps_fetch_datetime): "2024-01-31 12:00:00.123456".
        case MYSQL_TYPE_DATE:
        case MYSQL_TYPE_NEWDATE:
        case MYSQL_TYPE_TIME:
        case MYSQL_TYPE_DATETIME:
        case MYSQL_TYPE_TIMESTAMP: return column_kind::text;
        case MYSQL_TYPE_GEOMETRY: return column_kind::blob;
        default: return binary ? column_kind::blob : column_kind::text;
    }
}

std::uint32_t mysql_statement::signature_of(const MYSQL_FIELD& field) noexcept {
    return static_cast<std::uint32_t>(field.type) | ((field.flags & UNSIGNED_FLAG) != 0 ? 1u << 8 : 0u) |
           (field.charsetnr == 63 ? 1u << 9 : 0u) | (field.decimals == 0 ? 1u << 10 : 0u);
}

void mysql_statement::setup_columns() {
    const unsigned n = mysql_stmt_field_count(stmt_);
    const MYSQL_FIELD* fields = meta_ != nullptr ? mysql_fetch_fields(meta_) : nullptr;
    fields_ = nullptr;
    std::vector<column_state> next(n);
    for (unsigned i = 0; i < n; ++i) {
        column_state& c = next[i];
        const MYSQL_FIELD& f = fields[i];
        c.name.assign(f.name != nullptr ? f.name : "", f.name != nullptr ? f.name_length : 0);
        c.kind = kind_of(f);
        c.integral = f.decimals == 0;
        c.signature = signature_of(f);
        switch (c.kind) {
            case column_kind::text:
            case column_kind::blob:
            case column_kind::decimal: c.capacity = initial_capacity(f.length); break;
            case column_kind::bit: c.capacity = 8; break;  // BIT(64) at most: 8 bytes
            default: c.capacity = 0; break;
        }
        if (c.capacity != 0) c.data = std::make_unique_for_overwrite<char[]>(c.capacity);
    }
    columns_ = std::move(next);
    result_binds_.assign(n, MYSQL_BIND{});
    bind_result();
    fields_ = fields;
    shrunk_ = false;
}

void mysql_statement::bind_result() {
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        column_state& c = columns_[i];
        MYSQL_BIND& b = result_binds_[i];
        std::memset(&b, 0, sizeof b);
        b.length = &c.length;
        b.is_null = &c.is_null;
        b.error = &c.error;
        switch (c.kind) {
            case column_kind::null: b.buffer_type = MYSQL_TYPE_NULL; break;
            case column_kind::int64:
            case column_kind::uint64:
                // Every integer type converts to LONGLONG exactly (ma_stmt_codec.c,
                // ps_fetch_int32 -> convert_from_long); BIGINT UNSIGNED keeps its bit pattern.
                b.buffer_type = MYSQL_TYPE_LONGLONG;
                b.buffer = &c.number.i;
                b.is_unsigned = c.kind == column_kind::uint64;
                break;
            case column_kind::float64:
                b.buffer_type = MYSQL_TYPE_DOUBLE;
                b.buffer = &c.number.d;
                break;
            case column_kind::text:
            case column_kind::decimal:
                if (!c.data) c.data = std::make_unique_for_overwrite<char[]>(c.capacity = min_buffer);
                b.buffer_type = MYSQL_TYPE_STRING;
                b.buffer = c.data.get();
                b.buffer_length = static_cast<unsigned long>(c.capacity);
                break;
            case column_kind::blob:
            case column_kind::bit:
                if (!c.data) c.data = std::make_unique_for_overwrite<char[]>(c.capacity = min_buffer);
                b.buffer_type = MYSQL_TYPE_BLOB;
                b.buffer = c.data.get();
                b.buffer_length = static_cast<unsigned long>(c.capacity);
                break;
        }
    }
    if (!result_binds_.empty() && mysql_stmt_bind_result(stmt_, result_binds_.data()) != 0) fail(spi::operation::execute);
}

bool mysql_statement::columns_match(unsigned field_count) const noexcept {
    // fields_ is the statement's own array, which mysql_stmt_execute refreshes in place.
    const std::size_t n = columns_.size();
    if (fields_ == nullptr || field_count != n) return false;
    const MYSQL_FIELD* f = fields_;
    for (const column_state* c = columns_.data(), *end = c + n; c != end; ++c, ++f)
        if (signature_of(*f) != c->signature) return false;
    return true;
}

// ---- running -----------------------------------------------------------------------------

void* mysql_statement::bytes_of(param_slot& s, const char* data, std::size_t size) {
    s.length = static_cast<unsigned long>(size);
    if (size > max_copied_param) [[unlikely]] {
        // Long values stay in the caller's memory, which mysql_stmt_execute copies into its
        // request packet and sends before returning (mariadb_stmt.c, store_param): a re-bind
        // when the address changes costs nothing next to the value itself.
        return const_cast<char*>(data);
    }
    if (s.capacity < size || !s.bytes) [[unlikely]] {
        // Grows by powers of two up to max_copied_param; a new address means one re-bind
        // (the old address is never read again: execute() compares and re-binds first).
        const std::size_t capacity = std::max(min_copied_param, std::bit_ceil(size));
        try {
            s.bytes = std::make_unique_for_overwrite<char[]>(capacity);
        } catch (const std::bad_alloc&) {
            throw spi::native_failure(conn_.native_error_of(spi::operation::execute, CR_OUT_OF_MEMORY, "HY000",
                                                            "out of memory for a parameter value"));
        }
        s.capacity = capacity;
    }
    // Never a null buffer, even for an empty value: Connector/C sends a parameter whose buffer
    // is null as SQL NULL (mysql_stmt_execute_generate_simple_request: "!stmt->params[i].buffer").
    if (size != 0) std::memcpy(s.bytes.get(), data, size);
    return s.bytes.get();
}

void mysql_statement::execute(std::span<const value_view> params) {
    if (active_) reset();  // core resets after every run; this keeps a missed one harmless
    conn_.make_way(this);  // after reset(): an error it kept is thrown before this runs
    // Core has checked the count against parameter_count() (spi/backend.hpp).

    // Fill the slots; register the array again only when a type or a buffer address changed.
    // mysql_stmt_bind_param copies the MYSQL_BINDs (buffer addresses included) and makes the
    // next execute send the parameter types again; the lengths are read through the length
    // pointers at execute time (mariadb_stmt.c, ma_get_length). So a value whose bytes live in
    // the statement (numbers, short text and blobs copied into param_slot::bytes) re-binds
    // nothing from run to run, whatever the caller's memory address.
    bool rebind = !params_bound_;
    for (std::size_t i = 0; i < params.size(); ++i) {
        const value_view& v = params[i];
        param_slot& s = params_[i];
        enum_field_types type = MYSQL_TYPE_NULL;
        void* buffer = nullptr;
        switch (type_of(v)) {
            case value_type::null: break;
            case value_type::boolean:
                s.b = *std::get_if<bool>(&v) ? 1 : 0;
                type = MYSQL_TYPE_TINY;
                buffer = &s.b;
                break;
            case value_type::int64:
                s.i = *std::get_if<std::int64_t>(&v);
                type = MYSQL_TYPE_LONGLONG;
                buffer = &s.i;
                break;
            case value_type::float64: {
                const double d = *std::get_if<double>(&v);
                if (!std::isfinite(d)) [[unlikely]]
                    refuse_double(i, d);
                s.d = d;
                type = MYSQL_TYPE_DOUBLE;
                buffer = &s.d;
                break;
            }
            case value_type::text: {
                // Exact length: text may hold NUL bytes.
                const std::string_view t = *std::get_if<std::string_view>(&v);
                type = MYSQL_TYPE_STRING;
                buffer = bytes_of(s, t.data(), t.size());
                break;
            }
            case value_type::blob: {
                // MYSQL_TYPE_BLOB parameters are taken as binary, never converted from the
                // connection's character set (server sql_prepare.cc, setup_one_conversion_function).
                const bytes_view b = *std::get_if<bytes_view>(&v);
                type = MYSQL_TYPE_BLOB;
                buffer = bytes_of(s, reinterpret_cast<const char*>(b.data), b.size);
                break;
            }
        }
        MYSQL_BIND& bind = param_binds_[i];
        if (bind.buffer_type != type || bind.buffer != buffer || bind.length != &s.length) {
            bind.buffer_type = type;
            bind.buffer = buffer;
            bind.length = &s.length;
            bind.is_null = nullptr;
            bind.is_unsigned = 0;
            rebind = true;
        }
    }
    if (rebind && !params_.empty()) {
        params_bound_ = false;
        if (mysql_stmt_bind_param(stmt_, param_binds_.data()) != 0) fail(spi::operation::execute);
        params_bound_ = true;
    }

    done_ = false;
    buffered_ = false;
    if (mysql_stmt_execute(stmt_) != 0) [[unlikely]] {
        if (mysql_stmt_errno(stmt_) == CR_NEW_STMT_METADATA) {
            // The table changed its number of columns since the prepare: Connector/C refuses the
            // result (rows still pending) and the handle would refuse every later run.
            // Prepare it again, which discards the pending rows, so the next run works; this
            // one is reported, never re-run behind the caller's back.
            spi::native_error e = error_of(spi::operation::execute);
            reprepare();
            throw spi::native_failure(std::move(e));
        }
        fail(spi::operation::execute);
    }

    const unsigned fields = mysql_stmt_field_count(stmt_);
    if (fields == 0) {
        // affected rows = rows changed, not rows matched: CLIENT_FOUND_ROWS is off (README).
        const my_ulonglong affected = mysql_stmt_affected_rows(stmt_);
        affected_rows_ = affected == static_cast<my_ulonglong>(-1) ? 0 : affected;
        const my_ulonglong id = mysql_stmt_insert_id(stmt_);
        if (id != 0 && id <= static_cast<my_ulonglong>(INT64_MAX))
            last_insert_id_ = static_cast<std::int64_t>(id);
        else
            last_insert_id_.reset();
        return;
    }
    affected_rows_ = 0;
    last_insert_id_.reset();
    // A result set: its rows stream from here (mysql_stmt_fetch reads them one by one).
    active_ = true;
    conn_.set_streaming(this);
    // Connector/C replaces the statement's fields array when the prepare announced no columns
    // or more results follow (stored procedures): then the kept MYSQL_RES is stale.
    if (meta_ == nullptr || meta_stale_ || multi_) [[unlikely]] {
        if (meta_ != nullptr) mysql_free_result(meta_);
        meta_ = mysql_stmt_result_metadata(stmt_);
        meta_stale_ = false;
        if (meta_ == nullptr) fail(spi::operation::execute);
        setup_columns();
    } else if (shrunk_ || !columns_match(fields)) [[unlikely]] {
        // A column's type changed (SELECT ? with another parameter type, ALTER TABLE): the
        // buffers and the way each column is decoded follow.
        setup_columns();
    }
}

bool mysql_statement::next_row() {
    if (pending_) [[unlikely]] {
        std::exception_ptr e = std::exchange(pending_, nullptr);
        done_ = true;
        // Not yet reported by the connection's next command: the reader hears it instead, once,
        // as the connection kept it (transaction_ended included).
        if (std::optional<spi::native_error> own = conn_.take_deferred_of(this)) throw spi::native_failure(std::move(*own));
        std::rethrow_exception(e);
    }
    if (!active_ || done_) return false;
    if (buffered_ && mysql_stmt_row_tell(stmt_) == nullptr) {
        // The last buffered row was read. Never let mysql_stmt_fetch find that out itself: at
        // the end it marks the whole handle ready (mysql->status), which would hide the rows
        // of another statement streaming now, and mysql_stmt_free_result would then leave
        // them on the wire. The next execute or close frees the buffered rows.
        done_ = true;
        return false;
    }
    const int rc = mysql_stmt_fetch(stmt_);
    if (rc == 0) [[likely]]
        return true;
    if (rc == MYSQL_DATA_TRUNCATED) {
        refetch_truncated();
        return true;
    }
    done_ = true;
    // The end of the rows of a procedure's first result: the further result sets (only the
    // first is returned) are read now, so that an error of a later statement of the procedure
    // is this statement's error, thrown here, not lost or blamed on another call.
    if (rc == MYSQL_NO_DATA && multi_ && mysql_stmt_more_results(stmt_)) [[unlikely]]
        if (!skip_more_results()) fail(spi::operation::fetch);
    // The end of the rows (or an error, after which Connector/C marks the handle ready):
    // the wire is free again, unless more result sets of a stored procedure follow.
    if (conn_.streaming() == this && !(multi_ && mysql_stmt_more_results(stmt_))) conn_.set_streaming(nullptr);
    if (rc == MYSQL_NO_DATA) return false;
    fail(spi::operation::fetch);
}

void mysql_statement::refetch_truncated() {
    // A value longer than its buffer: Connector/C filled what fit, set the column's error flag
    // and the full length (ma_stmt_codec.c, convert_froma_string). Grow the buffer and read the
    // whole value again from the row it still holds (mysql_stmt_fetch_column), then register
    // the larger buffers for the next rows.
    bool grew = false;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        column_state& c = columns_[i];
        if (c.is_null || !c.error || c.capacity == 0 || c.length <= c.capacity) continue;
        // Only buffers are ever short: numbers are fetched into types that hold them.
        try {
            const std::size_t capacity = std::max<std::size_t>(static_cast<std::size_t>(c.length) + 1, 2 * c.capacity);
            c.data = std::make_unique_for_overwrite<char[]>(capacity);
            c.capacity = capacity;
            if (capacity > keep_limit) grown_ = true;
        } catch (const std::bad_alloc&) {
            c.data.reset();
            c.capacity = 0;
            throw spi::native_failure(conn_.native_error_of(spi::operation::fetch, CR_OUT_OF_MEMORY, "HY000",
                                                            "out of memory for a column value"));
        }
        MYSQL_BIND b = result_binds_[i];
        b.buffer = c.data.get();
        b.buffer_length = static_cast<unsigned long>(c.capacity);
        if (mysql_stmt_fetch_column(stmt_, &b, static_cast<unsigned>(i), 0) != 0) fail(spi::operation::fetch);
        grew = true;
    }
    if (grew) bind_result();
}

value_view mysql_statement::unsigned_value(column_state& c, std::uint64_t u) noexcept {
    if (u <= static_cast<std::uint64_t>(INT64_MAX))
        return value_view(std::in_place_type<std::int64_t>, static_cast<std::int64_t>(u));
    // Beyond int64: decimal text rather than a wrapped negative number.
    const auto [end, ec] = std::to_chars(c.digits, c.digits + sizeof c.digits, u);
    (void)ec;  // 20 digits always fit
    return value_view(std::in_place_type<std::string_view>, c.digits, static_cast<std::size_t>(end - c.digits));
}

value_view mysql_statement::column(std::size_t index) noexcept {
    column_state& c = columns_[index];
    if (c.is_null) return value_view(std::in_place_type<null_t>);
    switch (c.kind) {
        case column_kind::int64: return value_view(std::in_place_type<std::int64_t>, c.number.i);
        case column_kind::float64: return value_view(std::in_place_type<double>, c.number.d);
        case column_kind::text:
            return value_view(std::in_place_type<std::string_view>, c.data.get(), static_cast<std::size_t>(c.length));
        case column_kind::blob:
            return value_view(std::in_place_type<bytes_view>, reinterpret_cast<const std::byte*>(c.data.get()),
                              static_cast<std::size_t>(c.length));
        case column_kind::uint64: return unsigned_value(c, static_cast<std::uint64_t>(c.number.i));
        case column_kind::decimal: {
            const char* p = c.data.get();
            const std::size_t n = c.length;
            if (c.integral) {
                std::int64_t i = 0;
                const auto [end, ec] = std::from_chars(p, p + n, i);
                if (ec == std::errc{} && end == p + n) return value_view(std::in_place_type<std::int64_t>, i);
            }
            return value_view(std::in_place_type<std::string_view>, p, n);
        }
        case column_kind::bit: {
            // BIT(n) arrives as ceil(n/8) bytes, most significant first.
            std::uint64_t u = 0;
            const auto* p = reinterpret_cast<const unsigned char*>(c.data.get());
            for (std::size_t i = 0; i < c.length && i < 8; ++i) u = (u << 8) | p[i];
            return unsigned_value(c, u);
        }
        case column_kind::null: break;
    }
    return value_view(std::in_place_type<null_t>);
}

void mysql_statement::reset() noexcept {
    if (pending_) [[unlikely]]
        pending_ = nullptr;
    if (!active_) return;
    active_ = false;
    mysql_connection& conn = conn_;
    // mysql_stmt_free_result reads the rest of a streaming result off the wire (the protocol
    // has no other way to skip rows), and frees a buffered one. It must not run while another
    // statement's result holds the wire (a live or a retired statement's): it would read those
    // rows (madb_reset_stmt flushes whenever the handle is not ready). A buffered result is
    // then freed by the next execute or close.
    if (conn.streaming() == this || !conn.wire_busy()) {
        // What is left unread (rows, or further result sets of a procedure) may end in an
        // error: a deadlock or statement timeout found after the rows the caller read.
        // mysql_stmt_free_result and mysql_stmt_next_result read it off the wire into the
        // handle (madb_reset_stmt clears the handle's error first) and go on.
        const bool holds_wire = conn.streaming() == this;
        mysql_stmt_free_result(stmt_);
        bool failed = holds_wire && mysql_errno(conn.handle()) != 0;
        // Stored procedures: further result sets and the final status follow.
        if (!failed && multi_) failed = !skip_more_results();
        if (holds_wire) conn.set_streaming(nullptr);
        // Inside a transaction the error may say the server rolled it back: keep it for the
        // next command, or that news is lost and later writes would commit on their own.
        if (failed) [[unlikely]]
            conn.defer_current_error();
    }
    done_ = true;
    buffered_ = false;
    if (grown_) [[unlikely]] {
        grown_ = false;
        for (column_state& c : columns_) {
            if (c.capacity > keep_limit) {
                c.data.reset();
                c.capacity = 0;
                shrunk_ = true;  // the next execute sets the buffers up again
            }
        }
    }
}

void mysql_statement::buffer_rest() {
    if (done_) {
        // All rows read; only result sets of a stored procedure may follow.
        conn_.set_streaming(nullptr);
        if (!skip_more_results()) keep_failure(error_of(spi::operation::fetch));
        return;
    }
    // Valid after some rows were fetched unbuffered: it reads the remaining rows into the
    // statement's own memory, and later mysql_stmt_fetch calls read from there
    // (mariadb_stmt.c, mysql_stmt_store_result: stmt_buffered_fetch). The current row is
    // already copied into this statement's buffers, so it stays readable.
    conn_.set_streaming(nullptr);
    if (mysql_stmt_store_result(stmt_) != 0) {
        keep_failure(error_of(spi::operation::fetch));
        return;
    }
    buffered_ = true;
    if (mysql_stmt_more_results(stmt_)) [[unlikely]] {
        // A stored procedure (CALL) with further result sets: they follow on the wire, and
        // reading them would replace the rows just stored. Discard them all so the other
        // command can run, and tell this statement's reader instead of truncating silently.
        // The stored rows go first: with rows still stored, mysql_stmt_free_result would free
        // only them and leave the next result set's rows on the wire (madb_reset_stmt marks the
        // handle ready before it would flush).
        mysql_stmt_free_result(stmt_);
        meta_stale_ = true;
        buffered_ = false;
        done_ = true;
        if (!skip_more_results()) {
            keep_failure(error_of(spi::operation::fetch));
            return;
        }
        error_info info;
        info.kind = errc::usage;
        info.message = "the rest of this CALL result was discarded: another statement ran on the connection while "
                       "it was open (read a stored procedure's result to the end first)";
        info.backend = "mysql";
        pending_ = std::make_exception_ptr(usage_error(std::move(info)));
        return;
    }
    if (mysql_stmt_row_tell(stmt_) == nullptr) {
        // No rows were left. Connector/C still counts the rows fetched unbuffered, so it marks
        // the handle as holding a stored result with no data, and the next mysql_stmt_execute
        // would then wait on the wire for an end of rows that never comes (mariadb_stmt.c:
        // "stmt->state > MYSQL_STMT_WAITING_USE_OR_STORE && ... && !stmt->result.data"). One
        // fetch from the empty buffer ends it (MYSQL_NO_DATA, no wire traffic, this row's
        // buffers untouched); no other statement streams at this point.
        (void)mysql_stmt_fetch(stmt_);
        done_ = true;
    }
}

void mysql_statement::reprepare() noexcept {
    if (meta_ != nullptr) {
        mysql_free_result(meta_);
        meta_ = nullptr;
        fields_ = nullptr;
    }
    params_bound_ = false;
    active_ = false;
    done_ = true;
    // mysql_stmt_prepare on a used handle discards its pending rows and closes the old
    // server-side statement first (mariadb_stmt.c). A failure leaves meta_ null; the next
    // execute reports what the server says then.
    if (mysql_stmt_prepare(stmt_, sql_.data(), static_cast<unsigned long>(sql_.size())) != 0) return;
    multi_ = mysql_stmt_field_count(stmt_) == 0;
    try {
        if (mysql_stmt_field_count(stmt_) > 0) {
            meta_ = mysql_stmt_result_metadata(stmt_);
            if (meta_ != nullptr) setup_columns();
        }
    } catch (...) {  // the next execute sets the columns up again (meta_stale_)
        meta_stale_ = true;
    }
}

}  // namespace switchboard::mysql
