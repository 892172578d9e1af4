// SPDX-License-Identifier: MIT
// backend_statement over one server-side prepared statement: bind as text, execute, decode columns lazily.
#pragma once

#include <switchboard/spi/backend.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace switchboard::postgresql {

class postgresql_connection;

/// A prepared statement ("sbN" in its session) and, while it runs, the PGresult of its last
/// execution. One thread at a time, as its connection, which outlives it (core destroys
/// statements first) and is told when it dies (postgresql_connection::retire).
///
/// Parameter types are declared at PREPARE from the bound values, as pgjdbc does: int64 as
/// int8 (OID 20), double as float8 (701), bool (16), bytes as bytea (17); text and NULL as 0
/// (unspecified: the server infers the type from the context, so '2024-01-01' still goes
/// into a date column). A statement with parameters is therefore PREPAREd at its first
/// execute(), and PREPAREd again under a new name when a later run binds a value of another
/// type where the statement's declared one differs (a NULL fits any declared type). The
/// check compares the bound OIDs with the declared ones in the binding pass: no allocation.
///
/// Parameters go as text (format 0), NUL-terminated copies in a per-statement arena that
/// only grows: libpq reads text parameters up to their NUL and ignores their lengths
/// (libpq-exec.html, PQexecParams), so a text value holding a NUL byte is refused before
/// anything is sent rather than silently cut. bytea goes as binary (format 1, the bytes
/// themselves, no copy). bool is "t"/"f", int64 and double go through std::to_chars
/// (shortest round-trip form; "NaN", "Infinity", "-Infinity" as float8in spells them).
///
/// After DDL changes the columns a prepared statement returns, the server refuses to run it
/// ("cached plan must not change result type", 0A000, raised in plancache.c
/// RevalidateCachedQuery before anything executes). The statement is then prepared again
/// under a new name: at once and re-run when outside a transaction, else before its next run
/// (the failed transaction is doomed anyway). The old name is retired only once the new
/// PREPARE succeeded: when it fails (the table is gone), the statement stays stale and
/// tries again at its next run, so it recovers once the table is back.
///
/// Results come back in text format and stay in libpq's PGresult (PQexecPrepared collects
/// every row; nothing is copied again): column() decodes one value on demand, by column type
/// OID (described once per statement). bytea is hex-decoded into a per-column buffer that
/// is sized in next_row() and reused. Once warm, a run allocates nothing on this side.
class postgresql_statement final : public spi::backend_statement {
public:
    /// `sql` is the rewritten text ($n parameters), kept to PREPARE the statement at its first
    /// execute() and again after a schema change or a change of parameter types.
    postgresql_statement(postgresql_connection& owner, pg_conn* conn, std::string sql, std::size_t parameter_count,
                         bool numeric_as_double);
    ~postgresql_statement() override;
    postgresql_statement(const postgresql_statement&) = delete;
    postgresql_statement& operator=(const postgresql_statement&) = delete;

    std::size_t parameter_count() const noexcept override { return parameter_count_; }
    void execute(std::span<const value_view> params) override;
    bool next_row() override;
    std::size_t column_count() const noexcept override { return columns_.size(); }
    std::string_view column_name(std::size_t index) const noexcept override { return columns_[index].name; }
    value_view column(std::size_t index) noexcept override;
    /// Read while the run is open, as core does: for a result with rows (RETURNING) the count
    /// is taken from the PGresult on first request.
    std::uint64_t affected_rows() const noexcept override;
    std::optional<std::int64_t> last_insert_id() const noexcept override { return std::nullopt; }
    void reset() noexcept override;

    /// PREPAREs it now, with every parameter's type left to the server: for a statement
    /// without parameters, prepared by postgresql_connection::prepare so that its errors
    /// show there. Throws native_failure.
    void prepare_now();

private:
    /// How a column's text is decoded, from its type OID.
    enum class kind : std::uint8_t { text, boolean, integer, float4, float8, bytea };

    struct column_info {
        std::string name;
        kind decode = kind::text;
        std::unique_ptr<std::byte[]> bytes;  // bytea: the decoded value of the current row
        std::size_t capacity = 0;
    };

    void bind(std::span<const value_view> params);
    void grow_and_bind(std::span<const value_view> params);
    static void check_text(std::size_t index, std::string_view text);
    void describe();
    [[noreturn]] void refuse_copy(pg_result* result);
    pg_result* run(int parameters, int& status);  // status: the ExecStatusType
    static std::uint64_t count_of(const pg_result* result) noexcept;
    void prepare_with(const unsigned* types);  // PREPARE under a new name, then retire the old one
    value_view decode_bytea(column_info& c, const char* text, std::size_t size) noexcept;

    postgresql_connection* owner_;
    pg_conn* conn_;
    std::string name_;  // the server-side name; empty until the first PREPARE succeeded
    std::string sql_;
    std::size_t parameter_count_;
    bool numeric_as_double_;
    bool has_bytea_ = false;
    bool described_ = false;
    bool stale_ = false;  // the server refused it after a schema change: prepare again before the next run
    bool retype_ = false; // bind(): not prepared yet, or a bound type differs from the declared one
    std::vector<unsigned> types_;      // the parameter type OIDs name_ was prepared with (0: inferred)
    std::vector<unsigned> wanted_;     // the OIDs to PREPARE with when retype_ (NULL: as declared)
    std::vector<const char*> values_;  // parameter_count_ entries, reused
    std::vector<int> lengths_;
    std::vector<int> formats_;
    std::vector<char> arena_;           // NUL-terminated text of the parameters; only grows
    std::vector<column_info> columns_;
    pg_result* result_ = nullptr;
    int rows_ = 0;
    int row_ = -1;
    mutable std::uint64_t affected_rows_ = 0;
    mutable bool count_pending_ = false;  // a result with rows: affected_rows_ not read from it yet
};

}  // namespace switchboard::postgresql
