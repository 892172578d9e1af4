// SPDX-License-Identifier: MIT
// Table test of the PostgreSQL classifier over the SQLSTATEs, statuses and libpq messages really seen (reliability.md §1.1-1.2).
#include "postgresql_classifier.hpp"
#include "postgresql_connection.hpp"

#include <switchboard/spi/backend.hpp>

#include <catch2/catch.hpp>

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
    std::string sqlstate;
    std::string message;
    bool connection_bad;
    bool no_result;
    errc kind;
    bool transient;
    bool usable;
};

native_error error_of(const row& r) {
    native_error e;
    e.op = r.op;
    e.sqlstate = r.sqlstate;
    e.message = r.message;
    e.connection_bad = r.connection_bad;
    e.no_result = r.no_result;
    return e;
}

// libpq 15.20 / server 15.20 texts, as observed in reliability.md §1.2 (the "observed here"
// table) or as printed by the sources named beside them.
const std::string terminated_idle =
    "FATAL:  terminating connection due to administrator command\n"
    "server closed the connection unexpectedly\n"
    "\tThis probably means the server terminated abnormally\n"
    "\tbefore or while processing the request.";
const std::string closed = "server closed the connection unexpectedly\n"
                           "\tThis probably means the server terminated abnormally\n"
                           "\tbefore or while processing the request.";
const std::string refused = "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
                            "\tIs the server running on that host and accepting TCP/IP connections?";

const std::vector<row>& table() {
    static const std::vector<row> rows{
        // ---- reliability.md §1.2, observed: lost connections -------------------------------
        // pg_terminate_backend on an idle connection, then PQexec: FATAL result, no SQLSTATE, BAD.
        {"terminated while idle", operation::execute, "", terminated_idle, true, false, errc::disconnected, true, false},
        // The second PQexec on it: NULL PGresult, "no connection to the server".
        {"NULL result after loss", operation::execute, "", "no connection to the server", true, true, errc::disconnected, true, false},
        {"NULL result, status not yet BAD", operation::execute, "", "", false, true, errc::disconnected, true, false},
        // Terminate during a query: result #1 carries 57P01 while PQstatus is still OK.
        {"57P01 while status OK", operation::fetch, "57P01", "terminating connection due to administrator command", false, false, errc::disconnected, true, false},
        // ... and the merged result #2 with BAD (PQexec keeps #1's fields).
        {"57P01 merged, BAD", operation::execute, "57P01", terminated_idle, true, false, errc::disconnected, true, false},
        // pg_ctl -m fast while idle in a transaction; -m immediate; kill -9 of another backend.
        {"fast shutdown in transaction", operation::execute, "", terminated_idle, true, false, errc::disconnected, true, false},
        {"immediate shutdown", operation::execute, "", closed, true, false, errc::disconnected, true, false},
        // idle_in_transaction_session_timeout: the FATAL arrived earlier, as a notice.
        {"idle in transaction timeout", operation::execute, "", closed, true, false, errc::disconnected, true, false},
        // tcp_user_timeout in a black hole (observed: "Connection timed out", BAD).
        {"tcp_user_timeout", operation::fetch, "", "could not receive data from server: Connection timed out", true, false, errc::disconnected, true, false},
        // A translated message (client locale fr): the status decides, not the text.
        {"French text, BAD", operation::execute, "", "le serveur a ferm\xC3\xA9 la connexion de fa\xC3\xA7on inattendue", true, false, errc::disconnected, true, false},
        {"French text, BAD, NULL result", operation::execute, "", "aucune connexion au serveur", true, true, errc::disconnected, true, false},
        // During COMMIT the outcome is unknown.
        {"lost during COMMIT", operation::commit, "", closed, true, false, errc::commit_outcome_unknown, false, false},
        {"NULL result at COMMIT", operation::commit, "", "no connection to the server", true, true, errc::commit_outcome_unknown, false, false},
        {"57P01 at COMMIT, status OK", operation::commit, "57P01", "terminating connection due to administrator command", false, false, errc::commit_outcome_unknown, false, false},
        {"08006 at COMMIT", operation::commit, "08006", "connection failure", false, false, errc::commit_outcome_unknown, false, false},
        {"lost during BEGIN", operation::begin, "", closed, true, false, errc::disconnected, true, false},
        {"lost during ROLLBACK", operation::rollback, "", closed, true, false, errc::disconnected, true, false},
        {"lost during prepare", operation::prepare, "", closed, true, false, errc::disconnected, true, false},
        {"lost during lock", operation::lock, "", closed, true, false, errc::disconnected, true, false},
        // A SQLSTATE that would mean something else does not outweigh CONNECTION_BAD.
        {"syntax SQLSTATE but BAD", operation::execute, "42601", "syntax error at or near \"x\"", true, false, errc::disconnected, true, false},

        // ---- fallback: libpq texts with no SQLSTATE and status OK (fragments, anywhere) --------
        {"fragment: server closed", operation::execute, "", "ERROR: something\nserver closed the connection unexpectedly", false, false, errc::disconnected, true, false},
        {"fragment: no connection", operation::execute, "", "no connection to the server", false, false, errc::disconnected, true, false},
        {"fragment: could not send", operation::execute, "", "could not send data to server: Broken pipe", false, false, errc::disconnected, true, false},
        {"fragment: SSL SYSCALL", operation::execute, "", "SSL SYSCALL error: EOF detected", false, false, errc::disconnected, true, false},
        {"fragment: SSL closed", operation::execute, "", "SSL connection has been closed unexpectedly", false, false, errc::disconnected, true, false},
        {"fragment: lost sync", operation::fetch, "", "lost synchronization with server: got message type \"x\", length 5", false, false, errc::disconnected, true, false},
        {"fragment: connection not open", operation::execute, "", "connection not open", false, false, errc::disconnected, true, false},
        {"fragment at COMMIT", operation::commit, "", "could not receive data from server: Connection reset by peer", false, false, errc::commit_outcome_unknown, false, false},
        {"no SQLSTATE, unknown text", operation::execute, "", "number of parameters must be between 0 and 65535", false, false, errc::other, false, true},
        {"French text, status OK", operation::execute, "", "le serveur a ferm\xC3\xA9 la connexion", false, false, errc::other, false, true},

        // ---- reliability.md §1.1 / issue 3: SQLSTATE by code ----------------------------------
        {"08000", operation::execute, "08000", "connection exception", false, false, errc::disconnected, true, false},
        {"08003", operation::execute, "08003", "connection does not exist", false, false, errc::disconnected, true, false},
        {"08006", operation::execute, "08006", "connection failure", false, false, errc::disconnected, true, false},
        {"08P01", operation::execute, "08P01", "invalid frontend message type 0", false, false, errc::disconnected, true, false},
        {"08001", operation::execute, "08001", "unable to establish", false, false, errc::connect_failed, true, false},
        {"08004", operation::execute, "08004", "rejected establishment", false, false, errc::connect_failed, true, false},
        {"08007", operation::execute, "08007", "transaction resolution unknown", false, false, errc::commit_outcome_unknown, false, false},
        {"57P02", operation::execute, "57P02", "terminating connection because of crash of another server process", false, false, errc::disconnected, true, false},
        {"57P03", operation::execute, "57P03", "the database system is starting up", false, false, errc::connect_failed, true, false},
        {"57P04", operation::execute, "57P04", "terminating connection because database was dropped", false, false, errc::disconnected, false, false},
        {"57P05", operation::execute, "57P05", "terminating connection due to idle-session timeout", false, false, errc::disconnected, true, false},
        {"25P03", operation::execute, "25P03", "terminating connection due to idle-in-transaction timeout", false, false, errc::disconnected, true, false},
        {"40001", operation::execute, "40001", "could not serialize access due to concurrent update", false, false, errc::serialization, true, true},
        {"40001 at COMMIT", operation::commit, "40001", "could not serialize access due to read/write dependencies among transactions", false, false, errc::serialization, true, true},
        {"40P01", operation::execute, "40P01", "deadlock detected", false, false, errc::deadlock, true, true},
        {"40003", operation::execute, "40003", "statement completion unknown", false, false, errc::commit_outcome_unknown, false, false},
        {"40002", operation::commit, "40002", "transaction integrity constraint violation", false, false, errc::integrity, false, true},
        {"40000 (class 40)", operation::execute, "40000", "transaction rollback", false, false, errc::serialization, true, true},
        {"55P03 lock_timeout", operation::execute, "55P03", "canceling statement due to lock timeout", false, false, errc::lock_timeout, true, true},
        {"55P03 NOWAIT", operation::execute, "55P03", "could not obtain lock on row in relation \"t\"", false, false, errc::lock_timeout, true, true},
        {"57014 statement_timeout", operation::execute, "57014", "canceling statement due to statement timeout", false, false, errc::timeout, false, true},
        {"57014 cancel", operation::fetch, "57014", "canceling statement due to user request", false, false, errc::timeout, false, true},
        {"25006", operation::execute, "25006", "cannot execute INSERT in a read-only transaction", false, false, errc::read_only, false, true},
        {"25006 on a standby", operation::execute, "25006", "cannot execute CREATE TABLE in a read-only transaction", false, false, errc::read_only, false, true},
        {"25P02", operation::execute, "25P02", "current transaction is aborted, commands ignored until end of transaction block", false, false, errc::usage, false, true},
        {"25P02 from COMMIT tag ROLLBACK", operation::commit, "25P02", "COMMIT rolled back", false, false, errc::usage, false, true},
        {"25001 (class 25)", operation::execute, "25001", "CREATE DATABASE cannot run inside a transaction block", false, false, errc::usage, false, true},
        {"53300 after connect", operation::execute, "53300", "too many connections", false, false, errc::too_many_connections, true, false},
        {"53100 (class 53)", operation::execute, "53100", "could not extend file: No space left on device", false, false, errc::other, true, true},
        {"23505", operation::execute, "23505", "duplicate key value violates unique constraint \"t_pkey\"", false, false, errc::integrity, false, true},
        {"23502", operation::execute, "23502", "null value in column \"v\" of relation \"t\" violates not-null constraint", false, false, errc::integrity, false, true},
        {"23503", operation::commit, "23503", "insert or update on table \"c\" violates foreign key constraint", false, false, errc::integrity, false, true},
        {"23514", operation::execute, "23514", "new row for relation \"t\" violates check constraint \"c\"", false, false, errc::integrity, false, true},
        {"23P01", operation::execute, "23P01", "conflicting key value violates exclusion constraint", false, false, errc::integrity, false, true},
        {"44000", operation::execute, "44000", "new row violates check option for view \"v\"", false, false, errc::integrity, false, true},
        {"42601", operation::prepare, "42601", "syntax error at or near \"SELEC\"", false, false, errc::syntax, false, true},
        {"42601 two commands", operation::prepare, "42601", "cannot insert multiple commands into a prepared statement", false, false, errc::syntax, false, true},
        {"42P01 (class 42)", operation::prepare, "42P01", "relation \"missing\" does not exist", false, false, errc::syntax, false, true},
        {"42703 (class 42)", operation::prepare, "42703", "column \"nope\" does not exist", false, false, errc::syntax, false, true},
        {"42501", operation::execute, "42501", "permission denied for table t", false, false, errc::permission, false, true},
        {"28000 after connect (class 28)", operation::execute, "28000", "permission denied to set role", false, false, errc::permission, false, true},
        {"22P02 (data exception)", operation::execute, "22P02", "invalid input syntax for type integer: \"x\"", false, false, errc::other, false, true},
        {"22012", operation::execute, "22012", "division by zero", false, false, errc::other, false, true},
        {"0A000", operation::execute, "0A000", "cached plan must not change result type", false, false, errc::other, false, true},
        {"XX000", operation::execute, "XX000", "internal error", false, false, errc::other, false, true},
        {"72000", operation::execute, "72000", "snapshot too old", false, false, errc::serialization, true, true},
        {"unknown class", operation::execute, "ZZ999", "", false, false, errc::other, false, true},
        {"malformed SQLSTATE", operation::execute, "4000", "", false, false, errc::other, false, true},

        // ---- connect (reliability.md §1.2, observed; rule 4) ---------------------------------
        {"refused", operation::connect, "", refused, true, false, errc::connect_failed, true, false},
        {"timeout expired", operation::connect, "", "connection to server at \"10.0.0.1\", port 5432 failed: timeout expired", true, false, errc::connect_failed, true, false},
        {"too many clients", operation::connect, "", "connection to server at \"127.0.0.1\", port 54320 failed: FATAL:  sorry, too many clients already", true, false, errc::too_many_connections, true, false},
        {"reserved slots", operation::connect, "", "FATAL:  remaining connection slots are reserved for non-replication superuser connections", true, false, errc::too_many_connections, true, false},
        {"too many for role", operation::connect, "", "FATAL:  too many connections for role \"app\"", true, false, errc::too_many_connections, true, false},
        {"not yet accepting", operation::connect, "", "FATAL:  the database system is not yet accepting connections\nDETAIL:  Consistent recovery state has not been yet reached.", true, false, errc::connect_failed, true, false},
        {"starting up", operation::connect, "", "FATAL:  the database system is starting up", true, false, errc::connect_failed, true, false},
        {"shutting down", operation::connect, "", "FATAL:  the database system is shutting down", true, false, errc::connect_failed, true, false},
        {"in recovery", operation::connect, "", "FATAL:  the database system is in recovery mode", true, false, errc::connect_failed, true, false},
        {"read-only session asked read-write", operation::connect, "", "connection to server at \"127.0.0.1\", port 54321 failed: session is read-only", true, false, errc::connect_failed, true, false},
        {"wrong password", operation::connect, "", "connection to server at \"127.0.0.1\", port 54320 failed: FATAL:  password authentication failed for user \"switchboard\"", true, false, errc::connect_failed, false, false},
        {"28P01 at connect", operation::connect, "28P01", "password authentication failed", true, false, errc::connect_failed, false, false},
        {"28000 at connect", operation::connect, "28000", "role \"x\" does not exist", true, false, errc::connect_failed, false, false},
        {"no hba entry", operation::connect, "", "FATAL:  no pg_hba.conf entry for host \"127.0.0.1\", user \"u\", database \"d\", no encryption", true, false, errc::connect_failed, false, false},
        {"unknown database", operation::connect, "", "FATAL:  database \"nope\" does not exist", true, false, errc::connect_failed, false, false},
        {"unknown role", operation::connect, "", "FATAL:  role \"nope\" does not exist", true, false, errc::connect_failed, false, false},
        {"TLS required, server has none", operation::connect, "", "server does not support SSL, but SSL was required", true, false, errc::connect_failed, false, false},
        {"TLS certificate", operation::connect, "", "server certificate for \"db\" does not match host name \"127.0.0.1\"", true, false, errc::connect_failed, false, false},
        {"bad option value", operation::connect, "", "invalid sslmode value: \"sometimes\"", true, false, errc::connect_failed, false, false},
        {"53300 at connect", operation::connect, "53300", "sorry, too many clients already", true, false, errc::too_many_connections, true, false},
        {"57P03 at connect", operation::connect, "57P03", "the database system is starting up", true, false, errc::connect_failed, true, false},
        {"translated refusal at connect", operation::connect, "", "la connexion au serveur a \xC3\xA9" "chou\xC3\xA9", true, false, errc::connect_failed, true, false},
    };
    return rows;
}

}  // namespace

TEST_CASE("postgresql classifier maps statuses, SQLSTATEs and libpq messages to kinds", "[postgresql][classifier]") {
    for (const row& r : table()) {
        INFO(r.what << " (sqlstate '" << r.sqlstate << "', op " << static_cast<int>(r.op) << ", bad "
                    << r.connection_bad << ", no result " << r.no_result << ")");
        const classification c = switchboard::postgresql::classify(error_of(r));
        CHECK(c.kind == r.kind);
        CHECK(c.transient == r.transient);
        CHECK(c.connection_usable == r.usable);
    }
}

TEST_CASE("postgresql classifier: a lost connection wins over any SQLSTATE", "[postgresql][classifier]") {
    // reliability.md §1.2 rule 1, for every SQLSTATE in the table.
    for (const row& r : table()) {
        if (r.sqlstate.empty() || r.op == operation::connect) continue;
        native_error e = error_of(r);
        e.connection_bad = true;
        INFO(r.what);
        const errc want = r.op == operation::commit ? errc::commit_outcome_unknown : errc::disconnected;
        CHECK(switchboard::postgresql::classify(e).kind == want);
    }
}

TEST_CASE("postgresql classifier matches lost-connection fragments anywhere, not as prefixes", "[postgresql][classifier]") {
    native_error e;
    e.op = operation::execute;
    e.message = "ERROR:  x\nFATAL:  y\nsomething went wrong: server closed the connection unexpectedly (trailing)";
    CHECK(switchboard::postgresql::classify(e).kind == errc::disconnected);
    // With a server SQLSTATE the code decides, even if the text quotes a fragment (a user
    // message raised by RAISE, say).
    e.sqlstate = "P0001";
    e.message = "server closed the connection unexpectedly";
    CHECK(switchboard::postgresql::classify(e).kind == errc::other);
}

TEST_CASE("postgresql classifier: every connect failure is connect_failed or too_many_connections", "[postgresql][classifier]") {
    for (const row& r : table()) {
        native_error e = error_of(r);
        e.op = operation::connect;
        INFO(r.what);
        const classification c = switchboard::postgresql::classify(e);
        CHECK((c.kind == errc::connect_failed || c.kind == errc::too_many_connections));
        CHECK_FALSE(c.connection_usable);
    }
}

TEST_CASE("postgresql classifier starts from the kind's defaults except where documented", "[postgresql][classifier]") {
    // Overrides: 57P04 (reconnecting cannot bring a dropped database back), class 53 (resources
    // may free up), permanent connect failures.
    for (const row& r : table()) {
        if (r.op == operation::connect || r.sqlstate == "57P04" || r.sqlstate.starts_with("53")) continue;
        INFO(r.what);
        const classification c = switchboard::postgresql::classify(error_of(r));
        CHECK(c == classification::of(c.kind));
    }
}

TEST_CASE("postgresql password scrubbing replaces every occurrence", "[postgresql][security]") {
    std::string m = "user sb password sb-test-pw at sb-test-pwsb-test-pw";
    switchboard::postgresql::scrub(m, "sb-test-pw");
    CHECK(m == "user sb password *** at ******");
    std::string unchanged = "nothing to hide";
    switchboard::postgresql::scrub(unchanged, "");
    CHECK(unchanged == "nothing to hide");
    std::string star = "a*b";
    switchboard::postgresql::scrub(star, "*");  // the replacement itself never matches again
    CHECK(star == "a***b");
}

TEST_CASE("postgresql advisory lock keys are FNV-1a 64 of the name", "[postgresql][locks]") {
    using switchboard::postgresql::postgresql_connection;
    // FNV-1a 64 reference values (http://www.isthe.com/chongo/tech/comp/fnv/, test vectors).
    CHECK(static_cast<std::uint64_t>(postgresql_connection::lock_key("")) == 0xcbf29ce484222325ull);
    CHECK(static_cast<std::uint64_t>(postgresql_connection::lock_key("a")) == 0xaf63dc4c8601ec8cull);
    CHECK(static_cast<std::uint64_t>(postgresql_connection::lock_key("foobar")) == 0x85944171f73967e8ull);
    CHECK(postgresql_connection::lock_key("job:nightly") != postgresql_connection::lock_key("job:nightlz"));
}

// ---- URL to libpq keywords (validate() runs the same code) ---------------------------------

namespace {

using switchboard::postgresql::postgresql_options;

std::string keyword(const postgresql_options& o, std::string_view key) {
    for (const auto& [k, v] : o.parameters)
        if (k == key) return v;
    return "<absent>";
}

std::string usage_message(std::string_view text) {
    try {
        (void)postgresql_options::from(switchboard::url::parse(text));
    } catch (const switchboard::usage_error& e) {
        return e.what();
    }
    FAIL("expected a usage_error for " << text);
    return {};
}

}  // namespace

TEST_CASE("postgresql options: authority, path and driver options become libpq keywords", "[postgresql][options]") {
    const auto o = postgresql_options::from(switchboard::url::parse(
        "postgresql://sb:s%40cret@db1:5432,db2,[::1]:5433/app?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        "&connect_timeout=3&target_session_attrs=read-write&application_name=svc&sb.pool_size=4"));
    CHECK(keyword(o, "host") == "db1,db2,::1");
    CHECK(keyword(o, "port") == "5432,,5433");  // empty: libpq's default port for db2
    CHECK(keyword(o, "user") == "sb");
    CHECK(keyword(o, "password") == "s@cret");
    CHECK(o.password() == "s@cret");
    CHECK(keyword(o, "dbname") == "app");
    CHECK(keyword(o, "client_encoding") == "UTF8");
    CHECK(keyword(o, "sslmode") == "verify-full");
    CHECK(keyword(o, "sslrootcert") == "/etc/ca.pem");
    CHECK(keyword(o, "connect_timeout") == "3");
    CHECK(keyword(o, "target_session_attrs") == "read-write");
    CHECK(keyword(o, "application_name") == "svc");
    CHECK(keyword(o, "pool_size") == "<absent>");  // library options are not libpq's
    CHECK_FALSE(o.numeric_as_double);

    const auto local = postgresql_options::from(switchboard::url::parse("postgres:///app?numeric=double&client_encoding=utf8"));
    CHECK(keyword(local, "host") == "<absent>");  // libpq's default (Unix socket)
    CHECK(keyword(local, "port") == "<absent>");
    CHECK(keyword(local, "user") == "<absent>");
    CHECK(keyword(local, "client_encoding") == "UTF8");
    CHECK(local.numeric_as_double);
    // A database name is passed as a name (expand_dbname = 0), never parsed as conninfo.
    const auto odd = postgresql_options::from(switchboard::url::parse("postgresql://h/host%3Devil%20sslmode%3Ddisable"));
    CHECK(keyword(odd, "dbname") == "host=evil sslmode=disable");
    CHECK(keyword(odd, "sslmode") == "<absent>");
}

TEST_CASE("postgresql options: unknown or bad options are usage errors that never show the password", "[postgresql][options]") {
    const std::string unknown = usage_message("postgresql://u:hunter2pw@h/db?sslmod=require");
    CHECK(unknown.find("sslmod") != std::string::npos);
    CHECK(unknown.find("known: sslmode") != std::string::npos);
    CHECK(unknown.find("hunter2pw") == std::string::npos);
    // An unknown option's value is never shown (it might be a secret).
    CHECK(usage_message("postgresql://h/db?passwd=hunter2pw").find("hunter2pw") == std::string::npos);
    CHECK(usage_message("postgresql://h/db?password=hunter2pw").find("hunter2pw") == std::string::npos);
    CHECK(usage_message("postgresql://h/db?host=other").find("go in the URL itself") != std::string::npos);
    CHECK(usage_message("postgresql://h/db?sslmode=sometimes").find("verify-full") != std::string::npos);
    CHECK(usage_message("postgresql://h/db?connect_timeout=soon").find("whole number") != std::string::npos);
    CHECK(usage_message("postgresql://h/db?connect_timeout=-1").find("whole number") != std::string::npos);
    CHECK(usage_message("postgresql://h/db?target_session_attrs=master").find("prefer-standby") != std::string::npos);
    CHECK(usage_message("postgresql://h/db?client_encoding=LATIN1").find("UTF8") != std::string::npos);
    CHECK(usage_message("postgresql://h/db?numeric=decimal").find("text | double") != std::string::npos);
    CHECK(usage_message("postgresql://a%2Cb/db").find("host list") != std::string::npos);
    // sslpassword is passed through, and never named with its value.
    const auto o = postgresql_options::from(switchboard::url::parse("postgresql://h/db?sslpassword=k3y"));
    CHECK(keyword(o, "sslpassword") == "k3y");
}
