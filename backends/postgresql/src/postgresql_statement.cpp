// SPDX-License-Identifier: MIT
// backend_statement over a libpq prepared statement: text parameters, PQexecPrepared, lazy decoding by type OID.
#include "postgresql_statement.hpp"

#include "postgresql_classifier.hpp"
#include "postgresql_connection.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <variant>

namespace switchboard::postgresql {

namespace {

// A non-null pointer for empty values: libpq reads a null paramValues entry as SQL NULL,
// whatever its length and format (libpq-exec.html, PQexecParams).
constexpr char empty_value[1] = {0};

// Type OIDs, fixed in the catalog (src/include/catalog/pg_type.dat; pg_type_d.h BOOLOID ...).
constexpr unsigned oid_bool = 16, oid_bytea = 17, oid_int8 = 20, oid_int2 = 21, oid_int4 = 23, oid_oid = 26,
                   oid_float4 = 700, oid_float8 = 701, oid_numeric = 1700;

// The most the server takes in one message, so in one Bind: PQ_LARGE_MESSAGE_LIMIT
// (MaxAllocSize - 1, src/include/libpq/libpq.h); a single datum is capped at 1 GB too
// (varlena). Checked here, before framing (reliability.md §3.2, CVE-2024-27304 in pgx).
constexpr std::size_t max_message = 0x3fffffff - 1;

// Room in the arena for one int64 or double in text: "-9223372036854775808" is 20
// characters, the longest shortest-form double ("-2.2250738585072014e-308") 24; plus the NUL.
constexpr std::size_t number_room = 32;

// float8in/float4in (float.c) and numeric_in spell the specials this way; the output
// functions print them so too.
bool parse_special(std::string_view s, double& out) noexcept {
    if (s == "NaN") out = std::numeric_limits<double>::quiet_NaN();
    else if (s == "Infinity") out = std::numeric_limits<double>::infinity();
    else if (s == "-Infinity") out = -std::numeric_limits<double>::infinity();
    else return false;
    return true;
}

value_view as_double(const char* p, std::size_t n) noexcept {
    double d = 0;
    if (const auto [end, ec] = std::from_chars(p, p + n, d); ec == std::errc{} && end == p + n)
        return value_view(std::in_place_type<double>, d);
    if (parse_special({p, n}, d)) return value_view(std::in_place_type<double>, d);
    return value_view(std::in_place_type<std::string_view>, p, n);  // what the server sent, unread
}

value_view as_float4(const char* p, std::size_t n) noexcept {
    // float4out prints the shortest text that reads back as the same float (PG 12+,
    // extra_float_digits >= 1): read it as float, then widen exactly. Reading it as a double
    // would give 0.1 (the double nearest 0.1) for the float 0.1f.
    float f = 0;
    if (const auto [end, ec] = std::from_chars(p, p + n, f); ec == std::errc{} && end == p + n)
        return value_view(std::in_place_type<double>, static_cast<double>(f));
    return as_double(p, n);
}

constexpr std::array<std::uint8_t, 256> hex_table = [] {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t) v = 0xff;
    for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<std::uint8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<std::uint8_t>(c - 'a' + 10);
    for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<std::uint8_t>(c - 'A' + 10);
    return t;
}();

bool is_hex_bytea(const char* p, std::size_t n) noexcept { return n >= 2 && p[0] == '\\' && p[1] == 'x'; }

// The parameter type declared at PREPARE for a bound value (pgjdbc's choice): the server
// then reads the text as that type, so "SELECT ?" of an int64 is an int8 and a comparison
// with an int4 column is int4 = int8 (never 22003 for a value out of int4's range). Text is
// left unspecified (0): the server infers it from the context, as for a quoted literal, so
// text goes into date, numeric, json ... columns. A NULL fits any declared type (bind()).
constexpr unsigned oid_of(value_type type) noexcept {
    switch (type) {
        case value_type::boolean: return oid_bool;
        case value_type::int64: return oid_int8;
        case value_type::float64: return oid_float8;
        case value_type::blob: return oid_bytea;
        case value_type::null:
        case value_type::text: break;
    }
    return 0;
}

[[noreturn]] void refuse_parameter(std::size_t index, std::string_view why) {
    throw_usage("parameter " + std::to_string(index + 1) + " " + std::string(why), "postgresql");
}

}  // namespace

postgresql_statement::postgresql_statement(postgresql_connection& owner, pg_conn* conn, std::string sql,
                                           std::size_t parameter_count, bool numeric_as_double)
    : owner_(&owner),
      conn_(conn),
      sql_(std::move(sql)),
      parameter_count_(parameter_count),
      numeric_as_double_(numeric_as_double),
      types_(parameter_count),
      wanted_(parameter_count),
      values_(parameter_count),
      lengths_(parameter_count),
      formats_(parameter_count) {}

postgresql_statement::~postgresql_statement() {
    reset();
    owner_->retire(std::move(name_));  // ignores an empty name: never prepared
}

void postgresql_statement::bind(std::span<const value_view> params) {
    // One pass over the parameters, writing numbers and text into the arena as it is. The
    // arena only grows: when it is too small (while a statement warms up), it is sized for
    // this call and the pass starts again.
    //
    // It also notes whether a value's type differs from the one declared at PREPARE (a NULL
    // fits any), or nothing was prepared yet: execute() then PREPAREs (again) first. Each
    // case compares with its own constant (oid_of), so the check costs a load and a compare.
    char* out = arena_.data();
    char* const end = out + arena_.size();
    const unsigned* const declared = types_.data();
    std::size_t total = 0;  // text and bytes, for the message limit
    bool differs = name_.empty();
    for (std::size_t i = 0; i < params.size(); ++i) {
        const value_view& v = params[i];
        lengths_[i] = 0;
        formats_[i] = 0;
        switch (type_of(v)) {
            case value_type::null: values_[i] = nullptr; break;
            case value_type::boolean:
                differs |= declared[i] != oid_bool;
                values_[i] = *std::get_if<bool>(&v) ? "t" : "f";
                break;
            case value_type::int64: {
                differs |= declared[i] != oid_int8;
                if (static_cast<std::size_t>(end - out) < number_room) return grow_and_bind(params);
                const auto [last, ec] = std::to_chars(out, out + number_room - 1, *std::get_if<std::int64_t>(&v));
                (void)ec;  // number_room holds any int64
                *last = '\0';
                values_[i] = out;
                out = last + 1;
                break;
            }
            case value_type::float64: {
                differs |= declared[i] != oid_float8;
                const double d = *std::get_if<double>(&v);
                if (std::isnan(d)) {
                    values_[i] = "NaN";
                } else if (std::isinf(d)) {
                    values_[i] = d > 0 ? "Infinity" : "-Infinity";
                } else {
                    if (static_cast<std::size_t>(end - out) < number_room) return grow_and_bind(params);
                    // Shortest text that reads back as the same double ([charconv.to.chars]).
                    const auto [last, ec] = std::to_chars(out, out + number_room - 1, d);
                    (void)ec;
                    *last = '\0';
                    values_[i] = out;
                    out = last + 1;
                }
                break;
            }
            case value_type::text: {
                differs |= declared[i] != 0;  // unspecified: the server infers it
                const std::string_view t = *std::get_if<std::string_view>(&v);
                check_text(i, t);
                if (static_cast<std::size_t>(end - out) < t.size() + 1) return grow_and_bind(params);
                if (!t.empty()) std::memcpy(out, t.data(), t.size());
                out[t.size()] = '\0';
                values_[i] = out;
                out += t.size() + 1;
                total += t.size();
                break;
            }
            case value_type::blob: {
                differs |= declared[i] != oid_bytea;
                const bytes_view b = *std::get_if<bytes_view>(&v);
                if (b.size > max_message) refuse_parameter(i, "is longer than the 1 GiB PostgreSQL accepts");
                values_[i] = b.size != 0 ? reinterpret_cast<const char*>(b.data) : empty_value;
                lengths_[i] = static_cast<int>(b.size);
                formats_[i] = 1;  // binary: bytea's binary form is the bytes themselves (bytearecv)
                total += b.size;
                break;
            }
        }
    }
    if (total > max_message)
        throw_usage("the parameters take " + std::to_string(total) + " bytes; PostgreSQL accepts at most 1 GiB in one "
                    "statement",
                    "postgresql");
    retype_ = differs;
}

void postgresql_statement::check_text(std::size_t index, std::string_view text) {
    if (text.size() > max_message) refuse_parameter(index, "is longer than the 1 GiB PostgreSQL accepts");
    // PostgreSQL text cannot hold a NUL (the server refuses 0x00 in text input, and libpq
    // would stop at it): refuse rather than store a truncated value.
    if (std::memchr(text.data(), '\0', text.size()) != nullptr)
        refuse_parameter(index, "is text containing a NUL byte, which PostgreSQL text cannot hold; bind it as bytes "
                                "(bytea) if it is binary data");
}

void postgresql_statement::grow_and_bind(std::span<const value_view> params) {
    std::size_t need = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
        const value_view& v = params[i];
        if (const auto* t = std::get_if<std::string_view>(&v)) {
            check_text(i, *t);  // before sizing anything from it
            need += t->size() + 1;
        } else if (std::holds_alternative<std::int64_t>(v) || std::holds_alternative<double>(v)) {
            need += number_room;
        }
    }
    arena_.resize(std::max(need, arena_.size() * 2));
    bind(params);  // fits now
}

void postgresql_statement::describe() {
    const int n = PQnfields(result_);
    std::vector<column_info> columns(static_cast<std::size_t>(n));
    has_bytea_ = false;
    for (int i = 0; i < n; ++i) {
        column_info& c = columns[static_cast<std::size_t>(i)];
        c.name = PQfname(result_, i);
        switch (PQftype(result_, i)) {
            case oid_bool: c.decode = kind::boolean; break;
            case oid_int2:
            case oid_int4:
            case oid_int8:
            case oid_oid: c.decode = kind::integer; break;
            case oid_float4: c.decode = kind::float4; break;
            case oid_float8: c.decode = kind::float8; break;
            case oid_numeric: c.decode = numeric_as_double_ ? kind::float8 : kind::text; break;
            case oid_bytea:
                c.decode = kind::bytea;
                has_bytea_ = true;
                break;
            default: c.decode = kind::text; break;  // text, varchar, json, timestamps, ... as the server prints them
        }
    }
    columns_ = std::move(columns);
    described_ = true;
}

void postgresql_statement::refuse_copy(pg_result* result) {
    // COPY leaves the connection in copy mode until the copy ends (libpq-copy.html): end it,
    // drain what the server still sends, then refuse.
    const ExecStatusType status = PQresultStatus(result);
    PQclear(result);
    if (status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
        char* buffer = nullptr;
        while (PQgetCopyData(conn_, &buffer, 0) > 0) PQfreemem(buffer);
    }
    if (status == PGRES_COPY_IN || status == PGRES_COPY_BOTH)
        PQputCopyEnd(conn_, "switchboard does not run COPY statements");
    while (PGresult* r = PQgetResult(conn_)) PQclear(r);
    throw_usage("COPY ... FROM STDIN / TO STDOUT is not supported through switchboard statements", "postgresql");
}

namespace {
// plancache.c, RevalidateCachedQuery: "cached plan must not change result type". The source
// function field is not translated, unlike the message.
bool is_stale_plan(const PGresult* r) noexcept {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char* function = PQresultErrorField(r, PG_DIAG_SOURCE_FUNCTION);
    return state != nullptr && std::strcmp(state, "0A000") == 0 && function != nullptr &&
           std::strcmp(function, "RevalidateCachedQuery") == 0;
}
}  // namespace

void postgresql_statement::prepare_with(const unsigned* types) {
    // A new name, so that a failed PREPARE (the table was dropped meanwhile, a type that no
    // longer fits) leaves everything as it was: the old server statement still exists, and
    // the next run tries again. Only then is the old name retired (DEALLOCATEd later).
    std::string name = owner_->prepare_named(sql_, static_cast<int>(parameter_count_), types);
    owner_->retire(std::move(name_));
    name_ = std::move(name);
    if (types != types_.data()) std::copy(types, types + parameter_count_, types_.begin());
    stale_ = false;
    described_ = false;  // another result shape, or other column types (SELECT ? of another type)
}

void postgresql_statement::prepare_now() { prepare_with(types_.data()); }  // all 0 before the first PREPARE

PGresult* postgresql_statement::run(int n, int& status) {
    if (stale_ && PQtransactionStatus(conn_) != PQTRANS_INERROR) prepare_with(types_.data());
    PGresult* r = PQexecPrepared(conn_, name_.c_str(), n, values_.data(), lengths_.data(), formats_.data(), 0);
    status = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_FATAL_ERROR && r != nullptr && is_stale_plan(r)) [[unlikely]] {
        stale_ = true;
        // Nothing ran, and outside a transaction nothing else is lost: run it again, once.
        if (PQtransactionStatus(conn_) == PQTRANS_IDLE) {
            PQclear(r);
            prepare_with(types_.data());
            r = PQexecPrepared(conn_, name_.c_str(), n, values_.data(), lengths_.data(), formats_.data(), 0);
            status = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        }
    }
    return r;
}

void postgresql_statement::execute(std::span<const value_view> params) {
    if (result_ != nullptr) reset();  // core resets after every run; this keeps a missed one harmless
    bind(params);
    if (retype_) [[unlikely]] {
        // The first run, or a value of another type than declared: PREPARE with each value's
        // type, a NULL's as declared (0 before the first PREPARE).
        for (std::size_t i = 0; i < params.size(); ++i) {
            const value_type type = type_of(params[i]);
            wanted_[i] = type == value_type::null ? types_[i] : oid_of(type);
        }
        prepare_with(wanted_.data());
    }
    int status = PGRES_FATAL_ERROR;
    PGresult* r = run(static_cast<int>(params.size()), status);
    switch (static_cast<ExecStatusType>(status)) {
        case PGRES_TUPLES_OK:
            // Rows: a SELECT (no change), or INSERT/UPDATE/DELETE ... RETURNING. Counted on
            // request (affected_rows), off the point-select path.
            count_pending_ = true;
            affected_rows_ = 0;
            break;
        case PGRES_COMMAND_OK:
            count_pending_ = false;
            affected_rows_ = count_of(r);
            break;
        case PGRES_EMPTY_QUERY:
            PQclear(r);
            throw_usage("the SQL text holds no statement, only whitespace or comments", "postgresql");
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH: refuse_copy(r);
        default: owner_->fail(r, spi::operation::execute);
    }
    result_ = r;
    rows_ = PQntuples(r);
    row_ = -1;
    // The result's shape is fixed for a prepared statement: the server refuses to run it with
    // another ("cached plan must not change result type"), and then it is prepared again.
    if (!described_) describe();
}

std::uint64_t postgresql_statement::count_of(const PGresult* r) noexcept {
    // PQcmdTuples: the row count of INSERT/UPDATE/DELETE/MERGE/MOVE/FETCH/COPY and of SELECT
    // (which changes nothing, so 0 here); "" for other commands.
    if (std::strncmp(PQcmdStatus(const_cast<PGresult*>(r)), "SELECT", 6) == 0) return 0;
    const char* count = PQcmdTuples(const_cast<PGresult*>(r));
    std::uint64_t n = 0;
    std::from_chars(count, count + std::strlen(count), n);  // "" leaves 0
    return n;
}

std::uint64_t postgresql_statement::affected_rows() const noexcept {
    if (count_pending_ && result_ != nullptr) {
        affected_rows_ = count_of(result_);
        count_pending_ = false;
    }
    return affected_rows_;
}

bool postgresql_statement::next_row() {
    if (result_ == nullptr || row_ >= rows_) return false;
    if (++row_ == rows_) return false;
    if (has_bytea_) {
        // Size the bytea buffers of this row here, where throwing is allowed, so column()
        // decodes without allocating.
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            column_info& c = columns_[i];
            if (c.decode != kind::bytea) continue;
            const int col = static_cast<int>(i);
            const char* p = PQgetvalue(result_, row_, col);
            const auto n = static_cast<std::size_t>(PQgetlength(result_, row_, col));
            const std::size_t size = is_hex_bytea(p, n) ? (n - 2) / 2 : n;
            if (size > c.capacity) {
                c.bytes.reset(new std::byte[size]);
                c.capacity = size;
            }
        }
    }
    return true;
}

value_view postgresql_statement::decode_bytea(column_info& c, const char* p, std::size_t n) noexcept {
    std::byte* out = c.bytes.get();
    std::size_t size = 0;
    if (is_hex_bytea(p, n)) {
        // bytea_output = hex (the default): "\x" then two hex digits per byte (datatype-binary.html).
        for (std::size_t i = 2; i + 1 < n; i += 2) {
            const std::uint8_t hi = hex_table[static_cast<unsigned char>(p[i])];
            const std::uint8_t lo = hex_table[static_cast<unsigned char>(p[i + 1])];
            if ((hi | lo) == 0xff) break;  // never sent by byteaout
            out[size++] = static_cast<std::byte>((hi << 4) | lo);
        }
    } else {
        // bytea_output = escape: "\\" is a backslash, "\ooo" an octal byte, the rest as is.
        for (std::size_t i = 0; i < n;) {
            if (p[i] != '\\') {
                out[size++] = static_cast<std::byte>(p[i++]);
            } else if (i + 1 < n && p[i + 1] == '\\') {
                out[size++] = std::byte{'\\'};
                i += 2;
            } else if (i + 3 < n && p[i + 1] >= '0' && p[i + 1] <= '3') {
                out[size++] = static_cast<std::byte>(((p[i + 1] - '0') << 6) | ((p[i + 2] - '0') << 3) | (p[i + 3] - '0'));
                i += 4;
            } else {
                out[size++] = static_cast<std::byte>(p[i++]);
            }
        }
    }
    static constexpr std::byte none[1] = {};
    return value_view(std::in_place_type<bytes_view>, size != 0 ? out : none, size);
}

value_view postgresql_statement::column(std::size_t index) noexcept {
    const int col = static_cast<int>(index);
    // A NULL has length 0 (PQgetvalue gives ""): only an empty value needs PQgetisnull.
    const auto n = static_cast<std::size_t>(PQgetlength(result_, row_, col));
    if (n == 0 && PQgetisnull(result_, row_, col)) return value_view(std::in_place_type<null_t>);
    const char* p = PQgetvalue(result_, row_, col);
    column_info& c = columns_[index];
    switch (c.decode) {
        case kind::text: break;
        case kind::boolean: return value_view(std::in_place_type<bool>, p[0] == 't');  // boolout: "t" / "f"
        case kind::integer: {
            std::int64_t v = 0;
            if (const auto [end, ec] = std::from_chars(p, p + n, v); ec == std::errc{} && end == p + n)
                return value_view(std::in_place_type<std::int64_t>, v);
            break;
        }
        case kind::float4: return as_float4(p, n);
        case kind::float8: return as_double(p, n);
        case kind::bytea: return decode_bytea(c, p, n);
    }
    return value_view(std::in_place_type<std::string_view>, p, n);
}

void postgresql_statement::reset() noexcept {
    PQclear(result_);  // PQclear(nullptr) does nothing
    result_ = nullptr;
    rows_ = 0;
    row_ = -1;
}

}  // namespace switchboard::postgresql
