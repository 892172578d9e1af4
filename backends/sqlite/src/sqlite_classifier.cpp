// SPDX-License-Identifier: MIT
// What SQLite's extended result codes mean to switchboard; every entry cites SQLite's rescode.html.
#include "sqlite_classifier.hpp"

#include <sqlite3.h>

#include <array>
#include <string>
#include <string_view>

namespace switchboard::sqlite {

namespace {

using spi::classification;

// SQLITE_ERROR is generic; these message fragments are the parser's and resolver's own
// texts (sqlite3 3.40 sources: parse.y "near \"%T\": syntax error", tokenize.c
// "incomplete input" / "unrecognized token", build.c "no such table", resolve.c
// "no such column" / "no such function"). Matched anywhere in the message: they are
// followed by the object name ("no such table: main.t").
constexpr std::array<std::string_view, 6> syntax_fragments{
    "syntax error", "incomplete input", "unrecognized token",
    "no such table", "no such column", "no such function",
};

bool is_syntax_message(std::string_view message) noexcept {
    for (std::string_view f : syntax_fragments)
        if (message.find(f) != std::string_view::npos) return true;
    return false;
}

// Everything except the connect-time rule below. Codes per https://sqlite.org/rescode.html.
classification classify_code(const spi::native_error& e) noexcept {
    const long long code = e.code;
    // rescode.html#busy_snapshot (517): a WAL read transaction tried to write after another
    // connection committed; only re-running the whole transaction can succeed.
    if (code == SQLITE_BUSY_SNAPSHOT) return classification::of(errc::serialization);

    switch (static_cast<int>(code & 0xff)) {  // the primary code is the low byte (rescode.html#pve)
        // rescode.html#busy (5), #busy_recovery (261), #busy_timeout (773): another connection
        // holds the lock. #locked (6), #locked_sharedcache (262): a conflict inside this
        // connection or its shared cache. All "try again later": transient.
        case SQLITE_BUSY:
        case SQLITE_LOCKED: return classification::of(errc::lock_timeout);
        // rescode.html#protocol (15): a WAL locking race; "the loser of the race backs off".
        case SQLITE_PROTOCOL: return classification::of(errc::lock_timeout);
        // rescode.html#constraint (19) and its extended codes (unique, foreign key, not null,
        // check, primary key, trigger, rowid, datatype, ...).
        case SQLITE_CONSTRAINT: return classification::of(errc::integrity);
        // rescode.html#readonly (8) and _RECOVERY 264, _CANTLOCK 520, _ROLLBACK 776,
        // _DBMOVED 1032, _CANTINIT 1288, _DIRECTORY 1544; also PRAGMA query_only.
        case SQLITE_READONLY: return classification::of(errc::read_only);
        // rescode.html#interrupt (9): sqlite3_interrupt(); the connection goes on.
        case SQLITE_INTERRUPT: return classification::of(errc::timeout);
        // rescode.html#auth (23): the authorizer refused; #perm (3): access mode refused.
        case SQLITE_AUTH:
        case SQLITE_PERM: return classification::of(errc::permission);
        // rescode.html#toobig (18), #range (25, parameter index), #mismatch (20, datatype
        // mismatch such as a non-integer rowid): the program sent something SQLite cannot take.
        case SQLITE_TOOBIG:
        case SQLITE_RANGE:
        case SQLITE_MISMATCH: return classification::of(errc::usage);
        // rescode.html#misuse (21): only a closed handle is a lost connection; any other
        // misuse is a bug in the caller of the C API.
        case SQLITE_MISUSE:
            return e.connection_bad ? classification::of(errc::disconnected) : classification::of(errc::other);
        // rescode.html#error (1): generic; a parse or name-resolution failure by its message.
        case SQLITE_ERROR:
            return is_syntax_message(e.message) ? classification::of(errc::syntax) : classification::of(errc::other);
        // rescode.html#corrupt (11), #ioerr (10 and its extended codes), #full (13),
        // #notadb (26), #cantopen (14) after connect: re-running will not help.
        default: return classification::of(errc::other);
    }
}

}  // namespace

classification classify(const spi::native_error& e) noexcept {
    if (e.connection_bad && e.op != spi::operation::connect) return classification::of(errc::disconnected);
    classification c = classify_code(e);
    if (e.op != spi::operation::connect) return c;
    // Opening, or the first read of the file by the connect-time pragmas, failed: always
    // connect_failed (there is no connection), transient only when its cause is (BUSY while
    // another connection switches the journal mode). rescode.html#cantopen (14 and its
    // extended codes) and #notadb (26: "the file is not a database") never get better.
    const int primary = static_cast<int>(e.code & 0xff);
    classification r = classification::of(errc::connect_failed);
    r.transient = c.transient && primary != SQLITE_CANTOPEN && primary != SQLITE_NOTADB;
    return r;
}

spi::native_error native_error_of(sqlite3* db, spi::operation op, int rc) {
    spi::native_error e;
    e.op = op;
    if (db != nullptr) {
        e.code = sqlite3_extended_errcode(db);
        e.message = sqlite3_errmsg(db);
    } else {
        // No handle (never opened, or closed): SQLite itself would answer SQLITE_MISUSE.
        e.code = rc;
        e.message = sqlite3_errstr(rc);
        e.connection_bad = rc == SQLITE_MISUSE;
    }
    // sqlite3_extended_errcode reports the last failing API call on the handle; a zero there
    // (e.g. a call that fails without setting it) would hide the failure.
    if (e.code == SQLITE_OK) e.code = rc;
    return e;
}

void throw_native(sqlite3* db, spi::operation op, int rc) {
    throw spi::native_failure(native_error_of(db, op, rc));
}

}  // namespace switchboard::sqlite
