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
/// under its name: at once and re-run when outside a transaction, else before its next run
/// (the failed transaction is doomed anyway).
///
/// Results come back in text format and stay in libpq's PGresult (PQexecPrepared collects
/// every row; nothing is copied again): column() decodes one value on demand, by column type
/// OID (described once per statement). bytea is hex-decoded into a per-column buffer that
/// is sized in next_row() and reused. Once warm, a run allocates nothing on this side.
class postgresql_statement final : public spi::backend_statement {
public:
    /// `sql` is the rewritten text, kept to prepare the statement again after a schema change.
    postgresql_statement(postgresql_connection& owner, pg_conn* conn, std::string name, std::string sql,
                         std::size_t parameter_count, bool numeric_as_double);
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
    void prepare_again();
    value_view decode_bytea(column_info& c, const char* text, std::size_t size) noexcept;

    postgresql_connection* owner_;
    pg_conn* conn_;
    std::string name_;
    std::string sql_;
    std::size_t parameter_count_;
    bool numeric_as_double_;
    bool has_bytea_ = false;
    bool described_ = false;
    bool stale_ = false;  // the server refused it after a schema change: prepare again before the next run
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
