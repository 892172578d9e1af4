// SPDX-License-Identifier: MIT
// backend_statement over one MYSQL_STMT: bind parameters, stream or buffer the result, decode columns; the hot path.
#pragma once

#include <switchboard/spi/backend.hpp>

#include <mysql.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::mysql {

class mysql_connection;

/// A prepared statement. Takes ownership of `stmt` (closed in the destructor, which core runs
/// before the connection closes). One thread at a time, as its connection.
///
/// Per run nothing is allocated once warm: parameters are bound from a MYSQL_BIND array the
/// statement owns, registered with mysql_stmt_bind_param once and again only when a
/// parameter's type or buffer address changes. Numbers, and text and blobs up to 4 KiB, are
/// copied into the statement, so their addresses never change; longer values point at the
/// caller's memory, which is fine because mysql_stmt_execute copies every value into its
/// request packet and sends it before returning (mariadb_stmt.c, store_param and
/// mysql_stmt_execute_generate_simple_request). Rows are fetched with mysql_stmt_fetch into
/// buffers set up once from the result metadata and grown only for a longer value
/// (MYSQL_DATA_TRUNCATED, then mysql_stmt_fetch_column). Columns are read as views into
/// those buffers, so a row stays readable after another statement ran on the connection.
///
/// Results stream (no mysql_stmt_store_result) unless another command needs the wire while
/// they are open; see mysql_connection.
class mysql_statement final : public spi::backend_statement {
public:
    /// Reads the statement's metadata and sets up the result buffers. Throws native_failure;
    /// on failure `stmt` is closed.
    mysql_statement(mysql_connection& conn, MYSQL_STMT* stmt, std::string_view sql);
    ~mysql_statement() override;
    mysql_statement(const mysql_statement&) = delete;
    mysql_statement& operator=(const mysql_statement&) = delete;

    std::size_t parameter_count() const noexcept override { return params_.size(); }
    void execute(std::span<const value_view> params) override;
    bool next_row() override;
    std::size_t column_count() const noexcept override { return columns_.size(); }
    std::string_view column_name(std::size_t index) const noexcept override { return columns_[index].name; }
    value_view column(std::size_t index) noexcept override;
    std::uint64_t affected_rows() const noexcept override { return affected_rows_; }
    std::optional<std::int64_t> last_insert_id() const noexcept override { return last_insert_id_; }
    void reset() noexcept override;

    /// Reads the rest of this statement's streaming result into client memory
    /// (mysql_stmt_store_result), so that another command can use the wire. If that fails,
    /// the failure is kept for this statement's next next_row() and thrown here too
    /// (operation::fetch). A stored procedure's further result sets cannot be kept beside
    /// the first (mysql_stmt_next_result replaces it): they are discarded, and this
    /// statement's next next_row() throws usage_error saying so.
    void buffer_rest();

private:
    // How a column is fetched and handed out; chosen from its MYSQL_FIELD (kind_of).
    enum class column_kind : std::uint8_t {
        null,      // MYSQL_TYPE_NULL
        int64,     // TINY..LONGLONG, YEAR; BOOLEAN is TINYINT(1): 0/1, which core reads as bool
        uint64,    // BIGINT UNSIGNED: int64 up to INT64_MAX, decimal text above (never wrapped)
        float64,   // FLOAT, DOUBLE
        decimal,   // DECIMAL: text; int64 when the scale is 0 and the value fits
        bit,       // BIT(n): int64 as uint64
        text,      // character strings, ENUM, SET, JSON, dates and times (formatted by Connector/C)
        blob,      // binary strings (charsetnr 63), BLOB, GEOMETRY
    };

    struct param_slot {
        union {
            std::int64_t i;
            double d;
            signed char b;
        };
        unsigned long length = 0;          // read by mysql_stmt_execute through MYSQL_BIND::length
        std::unique_ptr<char[]> bytes;     // a short text or blob value, copied
        std::size_t capacity = 0;
    };

    struct column_state {
        std::string name;
        column_kind kind = column_kind::text;
        bool integral = false;            // decimal with scale 0
        std::uint32_t signature = 0;      // signature_of the field it was set up for
        std::unique_ptr<char[]> data;     // text, blob, decimal, bit
        std::size_t capacity = 0;
        union {
            std::int64_t i;
            double d;
        } number{};
        unsigned long length = 0;
        my_bool is_null = 0;
        my_bool error = 0;
        char digits[24] = {};  // uint64 beyond INT64_MAX, as text
    };

    static column_kind kind_of(const MYSQL_FIELD& field) noexcept;
    // The attributes kind_of and the decoding read: type, UNSIGNED, binary, scale 0.
    static std::uint32_t signature_of(const MYSQL_FIELD& field) noexcept;
    void setup_columns();             // from meta_; (re)binds the result buffers
    bool columns_match(unsigned field_count) const noexcept;
    void refetch_truncated();         // after MYSQL_DATA_TRUNCATED
    void bind_result();
    void reprepare() noexcept;        // after CR_NEW_STMT_METADATA 2057
    // The statement's error, or the handle's where Connector/C left it there (fetch).
    spi::native_error error_of(spi::operation op);
    [[noreturn]] void fail(spi::operation op);
    // Reads and frees the further result sets of a procedure (CALL). False when an error
    // ended them (a later statement of the procedure failed: deadlock, duplicate key, lost
    // connection); read it with error_of. Frees the wire either way.
    bool skip_more_results() noexcept;
    // An error of this statement found while buffering it for another command (buffer_rest):
    // see the definition.
    void keep_failure(spi::native_error e);
    // The buffer to bind for a text or blob parameter: a copy in s.bytes up to
    // max_copied_param bytes, else `data` itself. Sets s.length.
    void* bytes_of(param_slot& s, const char* data, std::size_t size);
    [[noreturn]] static void refuse_double(std::size_t index, double d);
    value_view unsigned_value(column_state& c, std::uint64_t u) noexcept;

    mysql_connection& conn_;
    MYSQL_STMT* stmt_;
    std::string sql_;                      // for re-preparing after a metadata change
    MYSQL_RES* meta_ = nullptr;            // mysql_stmt_result_metadata, kept: its fields are the statement's
    const MYSQL_FIELD* fields_ = nullptr;  // mysql_fetch_fields(meta_)
    std::vector<MYSQL_BIND> param_binds_;  // what mysql_stmt_bind_param last saw, plus pending changes
    std::vector<param_slot> params_;
    std::vector<MYSQL_BIND> result_binds_;
    std::vector<column_state> columns_;
    bool params_bound_ = false;    // param_binds_ is registered with the handle
    bool meta_stale_ = false;      // meta_ may point at freed fields (multi-result CALL): refresh
    // The prepare announced no result columns (a CALL, or a statement without rows). Should a
    // run return rows, each result set brings its own metadata and more may follow
    // (SERVER_MORE_RESULTS_EXIST). Plain SELECTs never have more results: they skip those checks.
    bool multi_ = false;
    bool grown_ = false;           // a buffer grew past keep_limit in this run
    bool shrunk_ = false;          // reset() freed a grown buffer: set the columns up again
    bool active_ = false;          // executed with a result set, not yet reset
    bool buffered_ = false;        // the result was moved into client memory (buffer_rest)
    bool done_ = false;            // no more rows
    std::exception_ptr pending_;  // buffer_rest failed or discarded rows: thrown by next_row()
    std::uint64_t affected_rows_ = 0;
    std::optional<std::int64_t> last_insert_id_;
};

}  // namespace switchboard::mysql
