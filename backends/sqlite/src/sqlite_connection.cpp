// SPDX-License-Identifier: MIT
// SQLite driver options, and the connection: open, hardening, prepare, transactions and the writer lock.
#include "sqlite_connection.hpp"

#include "sqlite_classifier.hpp"
#include "sqlite_statement.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <climits>
#include <initializer_list>
#include <optional>
#include <string>

namespace switchboard::sqlite {

namespace {

[[noreturn]] void bad_option(std::string_view key, std::string_view value, std::string_view expected) {
    throw_usage("sqlite driver option " + std::string(key) + "=\"" + std::string(value) + "\": expected " +
                    std::string(expected),
                "sqlite");
}

std::chrono::milliseconds parse_ms(std::string_view key, std::string_view value) {
    int ms = 0;  // sqlite3_busy_timeout takes an int
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || ms < 0)
        bad_option(key, value, "milliseconds, 0 to " + std::to_string(INT_MAX));
    return std::chrono::milliseconds(ms);
}

bool parse_switch(std::string_view key, std::string_view value) {
    if (value == "on" || value == "1" || value == "true") return true;
    if (value == "off" || value == "0" || value == "false") return false;
    bad_option(key, value, "on or off");
}

std::string_view parse_one_of(std::string_view key, std::string_view value,
                              std::initializer_list<std::string_view> allowed) {
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return value;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : " | ") + std::string(a);
    bad_option(key, value, list);
}

// The position of the first character at or after `i` that is not something SQLite skips
// between statements: whitespace, ';', "--" line comments and "/* */" comments (an
// unterminated one runs to the end: tokenize.c).
std::size_t skip_separators(std::string_view s, std::size_t i = 0) noexcept {
    while (i < s.size()) {
        const char c = s[i];
        if (c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            ++i;
        } else if (s.compare(i, 2, "--") == 0) {
            i = s.find('\n', i);
            if (i == std::string_view::npos) return s.size();
        } else if (s.compare(i, 2, "/*") == 0) {
            i = s.find("*/", i + 2);
            if (i == std::string_view::npos) return s.size();
            i += 2;
        } else {
            break;
        }
    }
    return i;
}

// Whether the text after the first statement holds only separators.
bool only_separators(std::string_view s) noexcept { return skip_separators(s) == s.size(); }

// Whether the statement's leading keyword is INSERT or REPLACE (any case): the statements
// whose successful run inserted the row sqlite3_last_insert_rowid names.
bool leads_with_insert(std::string_view sql) noexcept {
    const std::size_t start = skip_separators(sql);
    const auto keyword = [&](std::string_view k) {
        if (sql.size() - start < k.size()) return false;
        for (std::size_t j = 0; j < k.size(); ++j)
            if ((sql[start + j] & ~0x20) != k[j]) return false;  // ASCII letters: case folded
        if (start + k.size() == sql.size()) return true;
        const auto next = static_cast<unsigned char>(sql[start + k.size()]);
        return !(std::isalnum(next) || next == '_' || next == '$' || next >= 0x80);  // not INSERTX
    };
    return keyword("INSERT") || keyword("REPLACE");
}

}  // namespace

sqlite_options sqlite_options::from(const url& location) {
    sqlite_options o;
    const bool has_host = std::any_of(location.hosts().begin(), location.hosts().end(),
                                      [](const host_port& h) { return !h.host.empty() || h.port; });
    if (has_host)
        throw_usage("a sqlite URL names a file, not a host: write sqlite:///absolute/path.db, "
                    "sqlite:relative/path.db or sqlite::memory:",
                    "sqlite");
    if (location.user() || location.password())
        throw_usage("a sqlite URL takes no user or password", "sqlite");
    o.path = location.database();
    if (o.path.empty())
        throw_usage("the sqlite URL names no database file (use sqlite::memory: for an in-memory database)",
                    "sqlite");
    if (o.path.find('\0') != std::string::npos) throw_usage("the sqlite file path contains a NUL byte", "sqlite");
    o.memory = o.path == ":memory:";

    std::optional<std::chrono::milliseconds> writer_lock_timeout;
    std::string_view mode = "rwc";
    for (const auto& [key, value] : location.driver_options()) {
        if (key == "busy_timeout") o.busy_timeout = parse_ms(key, value);
        else if (key == "writer_lock_timeout") writer_lock_timeout = parse_ms(key, value);
        else if (key == "mode") mode = parse_one_of(key, value, {"ro", "rw", "rwc"});
        // pragma.html#pragma_journal_mode, #pragma_synchronous
        else if (key == "journal_mode")
            o.journal_mode = parse_one_of(key, value, {"wal", "delete", "truncate", "persist", "memory", "off"});
        else if (key == "synchronous") o.synchronous = parse_one_of(key, value, {"off", "normal", "full", "extra"});
        else if (key == "foreign_keys") o.foreign_keys = parse_switch(key, value);
        else if (key == "write_begin")
            o.begin_immediate = parse_one_of(key, value, {"immediate", "deferred"}) == "immediate";
        else if (key == "writer_lock") o.writer_lock = parse_switch(key, value);
        else
            // The key only: an unknown option's value might be a secret.
            throw_usage("unknown sqlite driver option \"" + key +
                            "\" (known: busy_timeout, writer_lock_timeout, mode, journal_mode, synchronous, "
                            "foreign_keys, write_begin, writer_lock; library options start with \"sb.\")",
                        "sqlite");
    }
    o.writer_lock_timeout = writer_lock_timeout.value_or(o.busy_timeout);
    o.read_only = mode == "ro";
    o.open_flags = mode == "ro" ? SQLITE_OPEN_READONLY
                 : mode == "rw" ? SQLITE_OPEN_READWRITE
                                : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    // WAL for files: readers and the writer do not block each other (wal.html). Left alone
    // for :memory: (always "memory") and read-only opens (switching needs a write).
    if (o.journal_mode.empty() && !o.memory && !o.read_only) o.journal_mode = "wal";
    // synchronous=NORMAL is consistent in WAL and loses only durability of the last commits
    // on power loss (pragma.html#pragma_synchronous); other journal modes keep FULL.
    if (o.synchronous.empty() && o.journal_mode == "wal") o.synchronous = "normal";
    return o;
}

sqlite_connection::sqlite_connection(sqlite_options options, std::string_view database_name)
    : options_(std::move(options)), name_(database_name) {
    // NOMUTEX: one thread at a time (spi/backend.hpp), so SQLite's per-call mutex is waste.
    // EXRESCODE: extended result codes from every call. PRIVATECACHE: never shared cache,
    // whose table locks (SQLITE_LOCKED) busy_timeout does not cover.
    const int flags = options_.open_flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_PRIVATECACHE;
    const int rc = sqlite3_open_v2(options_.path.c_str(), &db_, flags, nullptr);
    try {
        if (rc != SQLITE_OK) throw_native(db_, spi::operation::connect, rc);
        configure();
        if (!options_.memory && options_.writer_lock) lock_ = writer_lock::for_file(options_.path);
    } catch (...) {
        sqlite3_close_v2(db_);  // a handle comes back even when the open fails (c3ref/open.html)
        db_ = nullptr;
        throw;
    }
}

void sqlite_connection::configure() {
    sqlite3_busy_timeout(db_, static_cast<int>(options_.busy_timeout.count()));
    // SQLite calls the authorizer only while it compiles a statement, which includes the
    // re-prepare inside sqlite3_step after a schema change (c3ref/set_authorizer.html). Counting
    // those calls lets a statement notice a re-prepare with one load and compare per run,
    // where sqlite3_stmt_status costs about 25 instructions on the hot path. It allows everything.
    sqlite3_set_authorizer(
        db_,
        [](void* counter, int, const char*, const char*, const char*, const char*) {
            ++*static_cast<std::uint64_t*>(counter);
            return SQLITE_OK;
        },
        &compilations_);
    // Hardening for files from untrusted sources (security.html): DEFENSIVE forbids writes
    // that corrupt on purpose (writable_schema, ...); TRUSTED_SCHEMA=0 keeps functions with
    // side effects out of views and triggers; extension loading stays off. Double-quoted
    // string literals are refused, so a misspelt "column" is an error, not a string
    // (quirks.html#dblquote).
    for (const auto& [option, value] : {std::pair{SQLITE_DBCONFIG_DEFENSIVE, 1},
                                        std::pair{SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0},
                                        std::pair{SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0},
                                        std::pair{SQLITE_DBCONFIG_DQS_DML, 0},
                                        std::pair{SQLITE_DBCONFIG_DQS_DDL, 0}}) {
        const int rc = sqlite3_db_config(db_, option, value, static_cast<int*>(nullptr));
        if (rc != SQLITE_OK) throw_native(db_, spi::operation::connect, rc);
    }
    // journal_mode reads the file header, so a file that is not a database fails here
    // (SQLITE_NOTADB), inside connect, rather than at the first statement.
    std::string pragmas = options_.foreign_keys ? "PRAGMA foreign_keys=ON;" : "PRAGMA foreign_keys=OFF;";
    if (!options_.journal_mode.empty()) pragmas += "PRAGMA journal_mode=" + options_.journal_mode + ";";
    if (!options_.synchronous.empty()) pragmas += "PRAGMA synchronous=" + options_.synchronous + ";";
    if (options_.journal_mode.empty()) pragmas += "PRAGMA schema_version;";  // the same check, read-only
    exec(pragmas.c_str(), spi::operation::connect);
}

sqlite_connection::~sqlite_connection() {
    for (sqlite3_stmt* stmt : control_) sqlite3_finalize(stmt);
    // Closing rolls back an open transaction (c3ref/close.html); only then may the next
    // writer of this process go.
    sqlite3_close_v2(db_);
    if (holds_lock_) lock_->unlock();
}

void sqlite_connection::exec(const char* sql, spi::operation op) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throw_native(db_, op, rc);
}

void sqlite_connection::run(control c, spi::operation op) {
    static constexpr const char* text[] = {"BEGIN IMMEDIATE", "BEGIN", "COMMIT", "ROLLBACK"};
    sqlite3_stmt*& stmt = control_[static_cast<std::size_t>(c)];
    if (stmt == nullptr) {
        const int rc = sqlite3_prepare_v3(db_, text[static_cast<std::size_t>(c)], -1, SQLITE_PREPARE_PERSISTENT,
                                          &stmt, nullptr);
        if (rc != SQLITE_OK) throw_native(db_, op, rc);
    }
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(stmt);
        return;
    }
    spi::native_error e = native_error_of(db_, op, rc);  // before reset, which sets the error again
    sqlite3_reset(stmt);
    throw spi::native_failure(std::move(e));
}

std::unique_ptr<spi::backend_statement> sqlite_connection::prepare(std::string_view sql) {
    if (sql.size() > static_cast<std::size_t>(INT_MAX))
        throw_usage("statement of " + std::to_string(sql.size()) + " bytes is longer than SQLite accepts", "sqlite",
                    name_);
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    // PERSISTENT: core caches prepared statements and runs them many times (c3ref/c_prepare_normalize.html).
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt, &tail);
    if (rc != SQLITE_OK) throw_native(db_, spi::operation::prepare, rc);
    if (stmt == nullptr) throw_usage("the SQL text holds no statement, only whitespace or comments", "sqlite", name_);
    auto prepared = std::make_unique<sqlite_statement>(db_, stmt, &tx_, &compilations_, leads_with_insert(sql));
    // SQLite prepares the first statement and ignores the rest; running half of what the
    // caller wrote silently is worse than refusing it.
    const std::size_t used = static_cast<std::size_t>(tail - sql.data());
    if (!only_separators(sql.substr(used)))
        throw_usage("more than one SQL statement in one call; run them one at a time", "sqlite", name_,
                    std::string(sql));
    return prepared;
}

void sqlite_connection::begin(tx_mode mode) {
    if (mode == tx_mode::read) {
        // Deferred: takes a snapshot at its first read and blocks no one (wal.html).
        // PRAGMA query_only would refuse writes too, but every change of it expires all
        // prepared statements of the connection (pragma.c, OP_Expire), so each read
        // transaction would re-prepare the whole statement cache.
        run(control::begin_deferred, spi::operation::begin);
        tx_ = {.open = true, .read = true};
        return;
    }
    // The in-process queue first, then SQLite's lock: BEGIN IMMEDIATE takes the write lock
    // now, so nothing up to COMMIT returns SQLITE_BUSY (lang_transaction.html). A deferred
    // BEGIN would upgrade at the first write and fail with BUSY or BUSY_SNAPSHOT when another
    // connection wrote first (reliability.md 1.4).
    if (lock_) {
        lock_->lock(options_.writer_lock_timeout, name_);
        holds_lock_ = true;
    }
    try {
        run(options_.begin_immediate ? control::begin_immediate : control::begin_deferred, spi::operation::begin);
    } catch (...) {
        finish();
        throw;
    }
    tx_ = {.open = true, .read = false};
}

void sqlite_connection::commit() {
    try {
        run(control::commit, spi::operation::commit);
    } catch (spi::native_failure& failure) {
        // "If COMMIT fails with SQLITE_BUSY the transaction remains active" and may be retried;
        // FULL, IOERR and NOMEM may have rolled it back (lang_transaction.html). Keep the
        // writer lock while the transaction is open: the caller's rollback() releases it.
        if (sqlite3_get_autocommit(db_) != 0) {
            failure.error().transaction_ended = true;
            finish();
        }
        throw;
    }
    finish();
}

void sqlite_connection::rollback() {
    struct finisher {
        sqlite_connection* c;
        ~finisher() { c->finish(); }
    } always{this};
    // Nothing to send when SQLite already ended the transaction (an error that rolls back on
    // its own, lang_transaction.html §3; the statement said transaction_ended): ROLLBACK would
    // only fail. The writer lock is released either way.
    if (sqlite3_get_autocommit(db_) != 0) return;
    run(control::rollback, spi::operation::rollback);
}

void sqlite_connection::finish() noexcept {
    tx_ = {};
    if (holds_lock_) {
        holds_lock_ = false;
        lock_->unlock();
    }
}

}  // namespace switchboard::sqlite
