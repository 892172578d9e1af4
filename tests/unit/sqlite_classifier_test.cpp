// SPDX-License-Identifier: MIT
// Table test of the SQLite classifier over the extended result codes SQLite really returns.
#include "sqlite_classifier.hpp"

#include <switchboard/spi/backend.hpp>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <string>
#include <vector>

using switchboard::errc;
using switchboard::spi::classification;
using switchboard::spi::native_error;
using switchboard::spi::operation;

namespace {

struct row {
    const char* what;
    operation op;
    int code;
    std::string message;
    bool connection_bad;
    errc kind;
    bool transient;
    bool usable;
};

native_error error_of(const row& r) {
    native_error e;
    e.op = r.op;
    e.code = r.code;
    e.message = r.message;
    e.connection_bad = r.connection_bad;
    return e;
}

// Messages are sqlite3_errmsg texts of SQLite 3.40 (observed or from the sources).
const std::vector<row>& table() {
    static const std::vector<row> rows{
        // BUSY family and LOCKED: another connection holds the lock; wait or re-run.
        {"BUSY", operation::execute, SQLITE_BUSY, "database is locked", false, errc::lock_timeout, true, true},
        {"BUSY at begin", operation::begin, SQLITE_BUSY, "database is locked", false, errc::lock_timeout, true, true},
        {"BUSY at commit", operation::commit, SQLITE_BUSY, "database is locked", false, errc::lock_timeout, true, true},
        {"BUSY_RECOVERY", operation::execute, SQLITE_BUSY_RECOVERY, "database is locked", false, errc::lock_timeout, true, true},
        {"BUSY_TIMEOUT", operation::execute, SQLITE_BUSY_TIMEOUT, "database is locked", false, errc::lock_timeout, true, true},
        {"LOCKED", operation::execute, SQLITE_LOCKED, "database table is locked", false, errc::lock_timeout, true, true},
        {"LOCKED_SHAREDCACHE", operation::execute, SQLITE_LOCKED_SHAREDCACHE, "database table is locked", false, errc::lock_timeout, true, true},
        {"PROTOCOL", operation::execute, SQLITE_PROTOCOL, "locking protocol", false, errc::lock_timeout, true, true},
        // A stale WAL snapshot: re-run the whole transaction.
        {"BUSY_SNAPSHOT", operation::execute, SQLITE_BUSY_SNAPSHOT, "database is locked", false, errc::serialization, true, true},
        // Constraints.
        {"CONSTRAINT", operation::execute, SQLITE_CONSTRAINT, "constraint failed", false, errc::integrity, false, true},
        {"CONSTRAINT_UNIQUE", operation::execute, SQLITE_CONSTRAINT_UNIQUE, "UNIQUE constraint failed: t.k", false, errc::integrity, false, true},
        {"CONSTRAINT_PRIMARYKEY", operation::execute, SQLITE_CONSTRAINT_PRIMARYKEY, "UNIQUE constraint failed: t.id", false, errc::integrity, false, true},
        {"CONSTRAINT_FOREIGNKEY", operation::commit, SQLITE_CONSTRAINT_FOREIGNKEY, "FOREIGN KEY constraint failed", false, errc::integrity, false, true},
        {"CONSTRAINT_NOTNULL", operation::execute, SQLITE_CONSTRAINT_NOTNULL, "NOT NULL constraint failed: t.v", false, errc::integrity, false, true},
        {"CONSTRAINT_CHECK", operation::execute, SQLITE_CONSTRAINT_CHECK, "CHECK constraint failed: v > 0", false, errc::integrity, false, true},
        {"CONSTRAINT_TRIGGER", operation::execute, SQLITE_CONSTRAINT_TRIGGER, "no", false, errc::integrity, false, true},
        {"CONSTRAINT_ROWID", operation::execute, SQLITE_CONSTRAINT_ROWID, "", false, errc::integrity, false, true},
        {"CONSTRAINT_DATATYPE", operation::execute, SQLITE_CONSTRAINT_DATATYPE, "cannot store TEXT value in INTEGER column t.v", false, errc::integrity, false, true},
        // Read-only family (query_only, file modes, directories).
        {"READONLY", operation::execute, SQLITE_READONLY, "attempt to write a readonly database", false, errc::read_only, false, true},
        {"READONLY_RECOVERY", operation::execute, SQLITE_READONLY_RECOVERY, "", false, errc::read_only, false, true},
        {"READONLY_CANTLOCK", operation::execute, SQLITE_READONLY_CANTLOCK, "", false, errc::read_only, false, true},
        {"READONLY_ROLLBACK", operation::execute, SQLITE_READONLY_ROLLBACK, "", false, errc::read_only, false, true},
        {"READONLY_DBMOVED", operation::execute, SQLITE_READONLY_DBMOVED, "", false, errc::read_only, false, true},
        {"READONLY_CANTINIT", operation::execute, SQLITE_READONLY_CANTINIT, "", false, errc::read_only, false, true},
        {"READONLY_DIRECTORY", operation::execute, SQLITE_READONLY_DIRECTORY, "attempt to write a readonly database", false, errc::read_only, false, true},
        // Cannot open / not a database: connect failures that retrying will not fix.
        {"CANTOPEN at connect", operation::connect, SQLITE_CANTOPEN, "unable to open database file", false, errc::connect_failed, false, false},
        {"CANTOPEN_ISDIR at connect", operation::connect, SQLITE_CANTOPEN_ISDIR, "unable to open database file", false, errc::connect_failed, false, false},
        {"CANTOPEN_FULLPATH at connect", operation::connect, SQLITE_CANTOPEN_FULLPATH, "unable to open database file", false, errc::connect_failed, false, false},
        {"CANTOPEN_NOTEMPDIR at connect", operation::connect, SQLITE_CANTOPEN_NOTEMPDIR, "unable to open database file", false, errc::connect_failed, false, false},
        {"CANTOPEN_SYMLINK at connect", operation::connect, SQLITE_CANTOPEN_SYMLINK, "unable to open database file", false, errc::connect_failed, false, false},
        {"NOTADB at connect", operation::connect, SQLITE_NOTADB, "file is not a database", false, errc::connect_failed, false, false},
        {"NOTADB later", operation::execute, SQLITE_NOTADB, "file is not a database", false, errc::other, false, true},
        {"CANTOPEN later (temp file)", operation::execute, SQLITE_CANTOPEN, "unable to open database file", false, errc::other, false, true},
        // Any other connect failure is connect_failed too, transient when its cause is.
        {"BUSY at connect", operation::connect, SQLITE_BUSY, "database is locked", false, errc::connect_failed, true, false},
        {"IOERR at connect", operation::connect, SQLITE_IOERR_READ, "disk I/O error", false, errc::connect_failed, false, false},
        // Damage and resources: not transient.
        {"CORRUPT", operation::execute, SQLITE_CORRUPT, "database disk image is malformed", false, errc::other, false, true},
        {"IOERR", operation::execute, SQLITE_IOERR, "disk I/O error", false, errc::other, false, true},
        {"IOERR_READ", operation::fetch, SQLITE_IOERR_READ, "disk I/O error", false, errc::other, false, true},
        {"IOERR_WRITE", operation::execute, SQLITE_IOERR_WRITE, "disk I/O error", false, errc::other, false, true},
        {"IOERR_FSYNC", operation::commit, SQLITE_IOERR_FSYNC, "disk I/O error", false, errc::other, false, true},
        {"IOERR_LOCK", operation::execute, SQLITE_IOERR_LOCK, "disk I/O error", false, errc::other, false, true},
        {"IOERR_SHMOPEN", operation::execute, SQLITE_IOERR_SHMOPEN, "disk I/O error", false, errc::other, false, true},
        {"FULL", operation::commit, SQLITE_FULL, "database or disk is full", false, errc::other, false, true},
        // Interrupt: a cancelled statement; the connection goes on.
        {"INTERRUPT", operation::fetch, SQLITE_INTERRUPT, "interrupted", false, errc::timeout, false, true},
        // Misuse: a lost connection only on a closed handle.
        {"MISUSE on a closed handle", operation::execute, SQLITE_MISUSE, "bad parameter or other API misuse", true, errc::disconnected, true, false},
        {"MISUSE otherwise", operation::execute, SQLITE_MISUSE, "bad parameter or other API misuse", false, errc::other, false, true},
        // SQLITE_ERROR by message.
        {"syntax error", operation::prepare, SQLITE_ERROR, "near \"SELEC\": syntax error", false, errc::syntax, false, true},
        {"incomplete input", operation::prepare, SQLITE_ERROR, "incomplete input", false, errc::syntax, false, true},
        {"unrecognized token", operation::prepare, SQLITE_ERROR, "unrecognized token: \"'abc\"", false, errc::syntax, false, true},
        {"no such table", operation::prepare, SQLITE_ERROR, "no such table: missing", false, errc::syntax, false, true},
        {"no such column", operation::prepare, SQLITE_ERROR, "no such column: nope", false, errc::syntax, false, true},
        {"no such function", operation::prepare, SQLITE_ERROR, "no such function: frob", false, errc::syntax, false, true},
        {"other SQLITE_ERROR", operation::execute, SQLITE_ERROR, "table t already exists", false, errc::other, false, true},
        // Permission.
        {"AUTH", operation::prepare, SQLITE_AUTH, "not authorized", false, errc::permission, false, true},
        {"PERM", operation::connect, SQLITE_PERM, "access permission denied", false, errc::connect_failed, false, false},
        {"PERM later", operation::execute, SQLITE_PERM, "access permission denied", false, errc::permission, false, true},
        // What the program sent.
        {"TOOBIG", operation::execute, SQLITE_TOOBIG, "string or blob too big", false, errc::usage, false, true},
        {"RANGE", operation::execute, SQLITE_RANGE, "column index out of range", false, errc::usage, false, true},
        {"MISMATCH", operation::execute, SQLITE_MISMATCH, "datatype mismatch", false, errc::usage, false, true},
        // Everything else.
        {"NOMEM", operation::execute, SQLITE_NOMEM, "out of memory", false, errc::other, false, true},
        {"ABORT_ROLLBACK", operation::fetch, SQLITE_ABORT_ROLLBACK, "abort due to ROLLBACK", false, errc::other, false, true},
        {"SCHEMA", operation::execute, SQLITE_SCHEMA, "database schema has changed", false, errc::other, false, true},
        {"unknown code", operation::execute, 12345, "", false, errc::other, false, true},
    };
    return rows;
}

}  // namespace

TEST_CASE("sqlite classifier maps every extended result code to its kind", "[sqlite][classifier]") {
    for (const row& r : table()) {
        INFO(r.what << " (code " << r.code << ", op " << static_cast<int>(r.op) << ")");
        const classification c = switchboard::sqlite::classify(error_of(r));
        CHECK(c.kind == r.kind);
        CHECK(c.transient == r.transient);
        CHECK(c.connection_usable == r.usable);
    }
}

TEST_CASE("sqlite classifier starts from the kind's defaults", "[sqlite][classifier]") {
    // Only the connect rule overrides a flag; everywhere else classification::of(kind) holds.
    for (const row& r : table()) {
        if (r.op == operation::connect) continue;
        INFO(r.what);
        const classification c = switchboard::sqlite::classify(error_of(r));
        CHECK(c == classification::of(c.kind));
    }
}

TEST_CASE("sqlite classifier matches syntax messages as fragments, not prefixes", "[sqlite][classifier]") {
    native_error e;
    e.op = operation::prepare;
    e.code = SQLITE_ERROR;
    e.message = "in prepare, no such table: main.t";
    CHECK(switchboard::sqlite::classify(e).kind == errc::syntax);
    e.message = "no such savepoint: s1";
    CHECK(switchboard::sqlite::classify(e).kind == errc::other);
}

TEST_CASE("sqlite classifier reads the primary code from an extended one", "[sqlite][classifier]") {
    // Every extended code of a family keeps its primary code in the low byte (rescode.html#pve).
    native_error e;
    for (int ext = 0; ext < 32; ++ext) {
        e.code = SQLITE_CONSTRAINT | (ext << 8);
        CHECK(switchboard::sqlite::classify(e).kind == errc::integrity);
        e.code = SQLITE_IOERR | (ext << 8);
        CHECK(switchboard::sqlite::classify(e).kind == errc::other);
        e.code = SQLITE_READONLY | (ext << 8);
        CHECK(switchboard::sqlite::classify(e).kind == errc::read_only);
    }
}
