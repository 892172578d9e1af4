// SPDX-License-Identifier: MIT
// What libpq's failures mean to switchboard; every entry cites errcodes.txt, libpq's sources or reliability.md.
#include "postgresql_classifier.hpp"

#include <libpq-fe.h>

#include <array>
#include <span>
#include <string>
#include <string_view>

namespace switchboard::postgresql {

namespace {

using spi::classification;

classification with_transient(errc kind, bool transient) noexcept {
    classification c = classification::of(kind);
    c.transient = transient;
    return c;
}

bool contains_any(std::string_view text, std::span<const std::string_view> fragments) noexcept {
    for (std::string_view f : fragments)
        if (text.find(f) != std::string_view::npos) return true;
    return false;
}

// libpq's own texts for a connection that went away (fe-misc.c pqReadData/pqSendSome,
// fe-exec.c, fe-secure-openssl.c; `strings libpq.so.5.15`, reliability.md §1.2), the
// server's FATAL texts that end a session (postgres.c ProcessInterrupts: 57P01, 25P03,
// 57P05), and SQLAlchemy's psycopg2 list (psycopg2.py is_disconnect, reliability.md §1.2).
// Matched anywhere, not as prefixes: libpq prepends "FATAL:  ..." lines and merges texts.
// Only a fallback: they are translated (libpq_gettext) in a non-English client locale.
constexpr std::array<std::string_view, 14> lost_connection_fragments{
    "server closed the connection unexpectedly",          // fe-misc.c, definitelyEOF
    "no connection to the server",                        // fe-exec.c, PQsendQueryStart
    "could not receive data from server",                 // fe-secure.c, pqsecure_raw_read
    "could not send data to server",                      // fe-secure.c, pqsecure_raw_write
    "SSL SYSCALL error",                                  // fe-secure-openssl.c (EOF detected, ...)
    "SSL connection has been closed unexpectedly",        // fe-secure-openssl.c
    "SSL error: decryption failed or bad record mac",     // SQLAlchemy psycopg2.py
    "lost synchronization with server",                   // fe-protocol3.c
    "connection not open",                                // fe-connect.c / SQLAlchemy
    "connection to server was lost",                      // fe-exec.c, PQgetResult (pipeline)
    "terminating connection due to administrator command", // 57P01, postgres.c
    "terminating connection due to idle-in-transaction timeout",  // 25P03, postgres.c
    "terminating connection due to idle-session timeout", // 57P05, postgres.c
    "terminating connection because of crash of another server process",  // 57P02, postgres.c quickdie
};

// Connect-time server FATALs (reliability.md §1.2, rule 4; observed there on PG 15.20):
// postinit.c "sorry, too many clients already", "remaining connection slots are reserved
// for ...", "too many connections for role/database ..." (all 53300, unreachable as a code).
constexpr std::array<std::string_view, 3> too_many_fragments{
    "too many clients", "too many connections", "remaining connection slots are reserved"};

// postmaster.c canAcceptConnections / ProcessStartupPacket, 57P03: "the database system is
// starting up", "... is not yet accepting connections", "... is shutting down", "... is in
// recovery mode". Waiting helps.
constexpr std::array<std::string_view, 4> not_ready_fragments{
    "starting up", "not yet accepting", "shutting down", "in recovery"};

// Connect failures that re-trying cannot fix: wrong credentials (auth.c "password
// authentication failed for user", "... authentication failed for user", "no pg_hba.conf
// entry", 28P01/28000), unknown database or role (postinit.c 'database "x" does not exist',
// 3D000; 'role "x" does not exist' / "is not permitted to log in", 28000), and libpq's own
// refusals of options and TLS (fe-connect.c 'invalid %s value: "%s"', 'invalid connection
// option', 'invalid integer value', 'invalid port number', 'server does not support SSL, but
// SSL was required'; fe-secure-openssl.c certificate checks; fe-auth.c channel binding).
constexpr std::array<std::string_view, 13> permanent_connect_fragments{
    "authentication failed", "no pg_hba.conf entry", "does not exist", "is not permitted to log in",
    "invalid connection option", "invalid integer value", "invalid port number", " value: \"",
    "invalid value \"", "invalid SSL protocol version range", "SSL was required", "certificate",
    "channel binding"};

// SQLSTATEs by exact code. errcodes.txt of PostgreSQL 15 (/usr/share/postgresql/15/errcodes.txt)
// names each; the kinds follow reliability.md §1.1 and issue 3.
struct code_entry {
    std::string_view code;
    errc kind;
    bool transient;
};
constexpr std::array<code_entry, 21> exact_codes{{
    {"08001", errc::connect_failed, true},          // sqlclient_unable_to_establish_sqlconnection
    {"08004", errc::connect_failed, true},          // sqlserver_rejected_establishment_of_sqlconnection
    {"08007", errc::commit_outcome_unknown, false}, // transaction_resolution_unknown (SQL standard)
    {"57P01", errc::disconnected, true},            // admin_shutdown: pg_terminate_backend, pg_ctl -m fast
    {"57P02", errc::disconnected, true},            // crash_shutdown
    {"57P03", errc::connect_failed, true},          // cannot_connect_now: starting up / shutting down
    {"57P04", errc::disconnected, false},           // database_dropped: reconnecting cannot help
    {"57P05", errc::disconnected, true},            // idle_session_timeout (PG 14+), FATAL
    {"25P03", errc::disconnected, true},            // idle_in_transaction_session_timeout, FATAL
    {"40001", errc::serialization, true},           // serialization_failure (PG docs §13.5: retry)
    {"40P01", errc::deadlock, true},                // deadlock_detected
    {"40002", errc::integrity, false},              // transaction_integrity_constraint_violation
    {"40003", errc::commit_outcome_unknown, false}, // statement_completion_unknown
    {"55P03", errc::lock_timeout, true},            // lock_not_available: lock_timeout, NOWAIT
    {"57014", errc::timeout, false},                // query_canceled: statement_timeout, PQcancel
    {"25006", errc::read_only, false},              // read_only_sql_transaction: READ ONLY, hot standby
    {"25P02", errc::usage, false},                  // in_failed_sql_transaction: ROLLBACK first
    {"53300", errc::too_many_connections, true},    // too_many_connections
    {"42501", errc::permission, false},             // insufficient_privilege
    {"42601", errc::syntax, false},                 // syntax_error
    {"72000", errc::serialization, true},           // snapshot_too_old: re-run with a new snapshot
}};

// SQLSTATE classes (the first two characters; errcodes.txt "Class 08 - Connection Exception" ...).
constexpr std::array<code_entry, 12> class_codes{{
    {"08", errc::disconnected, true},   // connection exception: the stream or session is gone
    {"23", errc::integrity, false},     // integrity constraint violation
    {"28", errc::permission, false},    // invalid authorization specification (after connect: SET ROLE)
    {"42", errc::syntax, false},        // syntax error or access rule violation (undefined table, column ...)
    {"44", errc::integrity, false},     // with check option violation
    {"25", errc::usage, false},         // invalid transaction state (e.g. 25001 inside a transaction block)
    {"2D", errc::usage, false},         // invalid transaction termination
    {"0B", errc::usage, false},         // invalid transaction initiation
    {"40", errc::serialization, true},  // transaction rollback: the server rolled the transaction back
    {"53", errc::other, true},          // insufficient resources (disk full, out of memory): may pass
    {"55", errc::other, false},         // object not in prerequisite state
    {"57", errc::other, false},         // operator intervention
}};

const code_entry* find_code(std::string_view sqlstate) noexcept {
    if (sqlstate.size() != 5) return nullptr;
    for (const code_entry& e : exact_codes)
        if (e.code == sqlstate) return &e;
    for (const code_entry& e : class_codes)
        if (e.code == sqlstate.substr(0, 2)) return &e;
    return nullptr;
}

classification classify_connect(const spi::native_error& e) noexcept {
    // A SQLSTATE never arrives at connect time with libpq (reliability.md §1.2), but a caller
    // that has one (a proxy, a test) gets it honoured first.
    if (e.sqlstate == "53300") return classification::of(errc::too_many_connections);
    if (e.sqlstate.starts_with("28") || e.sqlstate == "3D000") return with_transient(errc::connect_failed, false);
    if (!e.sqlstate.empty()) return classification::of(errc::connect_failed);
    const std::string_view m = e.message;
    if (contains_any(m, too_many_fragments)) return classification::of(errc::too_many_connections);
    if (contains_any(m, not_ready_fragments)) return with_transient(errc::connect_failed, true);
    if (contains_any(m, permanent_connect_fragments)) return with_transient(errc::connect_failed, false);
    // Refused, unreachable, timed out, read-only where read-write was asked
    // (target_session_attrs): a later try may succeed.
    return classification::of(errc::connect_failed);
}

}  // namespace

classification classify(const spi::native_error& e) noexcept {
    if (e.op == spi::operation::connect) return classify_connect(e);
    const bool commit = e.op == spi::operation::commit;
    // reliability.md §1.2 rule 1: after a call, CONNECTION_BAD, or no PGresult at all, means the
    // session is gone, whatever the SQLSTATE or the (maybe translated) text. During COMMIT the
    // server may have committed before the connection broke.
    if (e.connection_bad || e.no_result)
        return classification::of(commit ? errc::commit_outcome_unknown : errc::disconnected);
    // Rule 2: the SQLSTATE, which is not translated.
    if (const code_entry* entry = find_code(e.sqlstate)) {
        if (commit && entry->kind == errc::disconnected) return classification::of(errc::commit_outcome_unknown);
        return with_transient(entry->kind, entry->transient);
    }
    // Rule 3: libpq's lost-connection texts, anywhere in the message (a 57P01 result can
    // arrive while PQstatus still says CONNECTION_OK: reliability.md §1.2, observed).
    if (e.sqlstate.empty() && contains_any(e.message, lost_connection_fragments))
        return classification::of(commit ? errc::commit_outcome_unknown : errc::disconnected);
    return classification::of(errc::other);
}

void scrub(std::string& text, std::string_view secret) {
    if (secret.empty()) return;
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
        text.replace(at, secret.size(), "***");
}

spi::native_error native_error_of(pg_conn* conn, const pg_result* result, spi::operation op) {
    spi::native_error e;
    e.op = op;
    e.connection_bad = conn == nullptr || PQstatus(conn) == CONNECTION_BAD;
    e.no_result = result == nullptr;
    if (result != nullptr) {
        if (const char* s = PQresultErrorField(result, PG_DIAG_SQLSTATE)) e.sqlstate = s;
    }
    const char* primary = result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    if (!e.sqlstate.empty() && primary != nullptr && !e.connection_bad) {
        // The server's own report: primary message and hint. Not the DETAIL, which quotes
        // values ("Key (id)=(42) already exists", "Failing row contains (...)").
        e.message = primary;
        if (const char* hint = PQresultErrorField(result, PG_DIAG_MESSAGE_HINT)) {
            e.message += " (hint: ";
            e.message += hint;
            e.message += ')';
        }
    } else {
        // libpq's text, possibly several lines merged, which the classifier's fallback reads
        // whole. On a lost connection the connection's message is the fuller one: a FATAL
        // read while sending ("terminating connection due to administrator command") goes
        // into PQerrorMessage only, the result holds just "server closed the connection
        // unexpectedly" (observed, libpq 15.20, PQexecPrepared after pg_terminate_backend).
        const char* text = nullptr;
        if (result != nullptr && !e.connection_bad) text = PQresultErrorMessage(result);
        if ((text == nullptr || *text == '\0') && conn != nullptr) text = PQerrorMessage(conn);
        if ((text == nullptr || *text == '\0') && result != nullptr) text = PQresultErrorMessage(result);
        e.message = text != nullptr ? text : "";
        if (e.message.empty()) e.message = e.no_result ? "libpq returned no result (out of memory?)" : "unknown libpq error";
    }
    while (!e.message.empty() && (e.message.back() == '\n' || e.message.back() == ' ' || e.message.back() == '\t'))
        e.message.pop_back();
    if (conn != nullptr) {
        if (const char* password = PQpass(conn)) scrub(e.message, password);
    }
    return e;
}

}  // namespace switchboard::postgresql
