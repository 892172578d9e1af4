// SPDX-License-Identifier: MIT
// PostgreSQL driver options, and the connection: connect, prepare, transactions, advisory locks, identity.
#include "postgresql_connection.hpp"

#include "placeholder_rewriter.hpp"
#include "postgresql_classifier.hpp"
#include "postgresql_statement.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstring>
#include <initializer_list>
#include <thread>
#include <type_traits>

namespace switchboard::postgresql {

namespace {

constexpr const char* backend_name = "postgresql";

// libpq keywords passed through from the URL as they are (libpq-connect.html §34.1.2).
// host, port, user, password and dbname come from the URL's authority and path instead;
// service, passfile, hostaddr, requirepeer, krbsrvname, gsslib and replication are left
// out on purpose (they read files or change the protocol); client_encoding and numeric are
// handled apart.
constexpr std::array<std::string_view, 21> passthrough_keys{
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslcrldir", "sslpassword", "sslsni",
    "ssl_min_protocol_version", "ssl_max_protocol_version", "channel_binding", "gssencmode",
    "connect_timeout", "application_name", "keepalives", "keepalives_idle", "keepalives_interval",
    "keepalives_count", "tcp_user_timeout", "target_session_attrs", "options",
};

[[noreturn]] void bad_option(std::string_view key, std::string_view value, std::string_view expected) {
    std::string m = "postgresql driver option " + std::string(key);
    if (!url::is_secret_key(key)) m += "=\"" + std::string(value) + "\"";
    throw_usage(m + ": expected " + std::string(expected), backend_name);
}

void check_one_of(std::string_view key, std::string_view value, std::initializer_list<std::string_view> allowed) {
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : " | ") + std::string(a);
    bad_option(key, value, list);
}

void check_count(std::string_view key, std::string_view value) {
    int n = 0;  // libpq parses these with parse_int_param into an int
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || n < 0)
        bad_option(key, value, "a whole number, 0 to " + std::to_string(INT_MAX));
}

// The values libpq accepts (fe-connect.c, connectOptions2 and the PQconninfoOptions table).
void check_value(std::string_view key, std::string_view value) {
    if (key == "sslmode") check_one_of(key, value, {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"});
    else if (key == "channel_binding") check_one_of(key, value, {"disable", "prefer", "require"});
    else if (key == "gssencmode") check_one_of(key, value, {"disable", "prefer", "require"});
    else if (key == "target_session_attrs")
        check_one_of(key, value, {"any", "read-write", "read-only", "primary", "standby", "prefer-standby"});
    else if (key == "sslsni" || key == "keepalives") check_one_of(key, value, {"0", "1"});
    else if (key == "ssl_min_protocol_version" || key == "ssl_max_protocol_version")
        check_one_of(key, value, {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"});
    else if (key == "connect_timeout" || key == "keepalives_idle" || key == "keepalives_interval" ||
             key == "keepalives_count" || key == "tcp_user_timeout")
        check_count(key, value);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
           });
}

std::string known_options() {
    std::string list;
    for (std::string_view k : passthrough_keys) list += std::string(k) + ", ";
    return list + "client_encoding (UTF8 only), numeric (text | double)";
}

}  // namespace

// ---- options --------------------------------------------------------------------------------

postgresql_options postgresql_options::from(const url& location) {
    postgresql_options o;
    auto& p = o.parameters;

    // Multi-host: libpq takes comma-separated host and port lists of the same length, an
    // empty entry meaning its default (libpq-connect.html §34.1.1.3).
    const auto& hosts = location.hosts();
    bool any_host = false, any_port = false;
    for (const host_port& h : hosts) {
        if (h.host.find(',') != std::string::npos)
            throw_usage("a postgresql host name contains ',', which libpq would read as a host list", backend_name);
        any_host = any_host || !h.host.empty();
        any_port = any_port || h.port.has_value();
    }
    if (any_host || hosts.size() > 1) {
        std::string list;
        for (std::size_t i = 0; i < hosts.size(); ++i) list += (i ? "," : "") + hosts[i].host;
        p.emplace_back("host", std::move(list));
    }
    if (any_port) {
        std::string list;
        for (std::size_t i = 0; i < hosts.size(); ++i)
            list += (i ? "," : "") + (hosts[i].port ? std::to_string(*hosts[i].port) : std::string());
        p.emplace_back("port", std::move(list));
    }
    if (location.user()) p.emplace_back("user", *location.user());
    if (location.password()) p.emplace_back("password", *location.password());
    if (!location.database().empty()) p.emplace_back("dbname", location.database());
    // Text in and out is UTF-8, whatever the server's or the environment's (PGCLIENTENCODING) default.
    p.emplace_back("client_encoding", "UTF8");
    p.emplace_back("fallback_application_name", "switchboard");

    for (const auto& [key, value] : location.driver_options()) {
        if (std::find(passthrough_keys.begin(), passthrough_keys.end(), key) != passthrough_keys.end()) {
            check_value(key, value);
            p.emplace_back(key, value);
        } else if (key == "client_encoding") {
            // PostgreSQL's names of UTF-8 (encnames.c: "utf8", "unicode"; "utf-8" is read as utf8).
            if (!iequals(value, "UTF8") && !iequals(value, "UTF-8") && !iequals(value, "unicode"))
                bad_option(key, value, "UTF8 (switchboard always talks UTF-8 to PostgreSQL)");
        } else if (key == "numeric") {
            check_one_of(key, value, {"text", "double"});
            o.numeric_as_double = value == "double";
        } else {
            // The key only: an unknown option's value might be a secret.
            throw_usage("unknown postgresql driver option \"" + key + "\" (known: " + known_options() +
                            "; host, port, user, password and database go in the URL itself; library options "
                            "start with \"sb.\")",
                        backend_name);
        }
    }
    return o;
}

std::string_view postgresql_options::password() const noexcept {
    for (const auto& [key, value] : parameters)
        if (key == "password") return value;
    return {};
}

// ---- connection ----------------------------------------------------------------------------

postgresql_connection::postgresql_connection(const postgresql_options& options, std::string_view database_name)
    : name_(database_name), numeric_as_double_(options.numeric_as_double) {
    std::vector<const char*> keys, values;
    keys.reserve(options.parameters.size() + 1);
    values.reserve(options.parameters.size() + 1);
    for (const auto& [key, value] : options.parameters) {
        keys.push_back(key.c_str());
        values.push_back(value.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    // expand_dbname = 0: the database name is a name, never a conninfo string or URI that
    // could smuggle in other keywords (libpq-connect.html, PQconnectdbParams).
    conn_ = PQconnectdbParams(keys.data(), values.data(), 0);
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
        spi::native_error e;
        e.op = spi::operation::connect;
        e.connection_bad = true;
        e.message = conn_ != nullptr ? PQerrorMessage(conn_) : "libpq could not allocate a connection";
        while (!e.message.empty() && (e.message.back() == '\n' || e.message.back() == ' ')) e.message.pop_back();
        // libpq names host, port and user, never the password; scrub it anyway.
        scrub(e.message, options.password());
        PQfinish(conn_);
        conn_ = nullptr;
        throw spi::native_failure(std::move(e));
    }
    PQsetNoticeReceiver(conn_, &on_notice, this);
    // The "options" keyword could still set another encoding (-c client_encoding=...).
    const char* encoding = PQparameterStatus(conn_, "client_encoding");
    if (encoding == nullptr || std::strcmp(encoding, "UTF8") != 0) {
        const std::string got = encoding != nullptr ? encoding : "(none)";
        PQfinish(conn_);
        conn_ = nullptr;
        throw_usage("the PostgreSQL session uses client_encoding " + got + "; switchboard needs UTF8 (check the "
                    "options driver option)",
                    backend_name, name_);
    }
}

postgresql_connection::~postgresql_connection() {
    // Ends the session: the server rolls back an open transaction, releases advisory locks
    // and drops every prepared statement.
    PQfinish(conn_);
}

void postgresql_connection::on_notice(void* self, const PGresult* notice) noexcept {
    // libpq's default receiver prints every notice to stderr (libpq-notice-processing.html):
    // a library must not write there, and WARNING "there is no transaction in progress" or
    // NOTICE "... does not exist, skipping" carry nothing the caller acts on. Kept: a notice
    // that says why the session is ending, for the error that follows. An ErrorResponse
    // that arrives between queries comes here (fe-protocol3.c, pqParseInput3): the FATAL of
    // pg_terminate_backend (57P01), idle timeouts (25P03, 57P05); so do the WARNINGs of a
    // crash restart or an immediate shutdown (57P02, 57P01: quickdie in postgres.c).
    auto* c = static_cast<postgresql_connection*>(self);
    const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char* sqlstate = PQresultErrorField(notice, PG_DIAG_SQLSTATE);
    const char* message = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
    const std::string_view state = sqlstate != nullptr ? sqlstate : "";
    const bool fatal = severity != nullptr && (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0);
    if (!fatal && !state.starts_with("57P") && !state.starts_with("08") && state != "25P03") return;
    try {
        c->farewell_sqlstate_ = state;
        c->farewell_message_ = message != nullptr ? message : "";
    } catch (...) {  // out of memory: the error will say less
    }
}

void postgresql_connection::fail(PGresult* result, spi::operation op) {
    spi::native_error e = native_error_of(conn_, result, op);
    PQclear(result);
    // The transaction this connection began is over on the server although neither commit()
    // nor rollback() succeeded: a COMMIT refused by a deferred constraint (23505 ...) or a
    // serialization failure (40001) ends it (xact.c CommitTransaction aborts on error), and
    // so does a COMMIT answered with ROLLBACK. Core must then refuse the rest of the
    // transaction: the next statement would otherwise run, and commit, on its own.
    if (in_transaction_ && !e.connection_bad && PQtransactionStatus(conn_) == PQTRANS_IDLE) {
        e.transaction_ended = true;
        in_transaction_ = false;
    }
    if (e.connection_bad && !farewell_message_.empty() && e.message.find(farewell_message_) == std::string::npos) {
        if (e.sqlstate.empty()) e.sqlstate = farewell_sqlstate_;
        std::string why = farewell_message_;
        if (const char* password = PQpass(conn_)) scrub(why, password);
        e.message = why + "\n" + e.message;
    }
    throw spi::native_failure(std::move(e));
}

void postgresql_connection::retire(std::string statement_name) noexcept {
    if (statement_name.empty()) return;
    try {
        retired_.push_back(std::move(statement_name));
    } catch (...) {  // out of memory: the statement stays prepared until the session ends
    }
}

void postgresql_connection::deallocate_retired() noexcept {
    // Outside a transaction only: prepared statements are not transactional, but a failed
    // DEALLOCATE inside one would abort the caller's transaction.
    if (retired_.empty() || PQtransactionStatus(conn_) != PQTRANS_IDLE) return;
    try {
        std::string sql;
        for (const std::string& n : retired_) {
            sql += "DEALLOCATE ";
            sql += n;
            sql += ';';
        }
        // One round trip for all of them. A simple query stops at its first failing
        // statement: a name already gone (26000, after DEALLOCATE ALL or DISCARD ALL run by
        // hand) would leave every later one prepared for the rest of the session. Then each
        // goes again on its own, errors ignored (26000 for the ones already done: prepared
        // statements are not transactional, so those before the failure stay deallocated).
        PGresult* r = PQexec(conn_, sql.c_str());
        const bool done = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!done) {
            for (const std::string& n : retired_) {
                // A lost session took its prepared statements with it (and shows at the next call).
                if (PQstatus(conn_) != CONNECTION_OK || PQtransactionStatus(conn_) != PQTRANS_IDLE) break;
                PQclear(PQexec(conn_, ("DEALLOCATE " + n).c_str()));
            }
        }
        retired_.clear();
    } catch (...) {  // out of memory building the text: try again next time
    }
}

std::string postgresql_connection::prepare_named(const std::string& sql, int parameters, const unsigned* types) {
    deallocate_retired();
    std::string statement_name = "sb" + std::to_string(++statement_serial_);
    static_assert(sizeof(Oid) == sizeof(unsigned) && std::is_unsigned_v<Oid>);
    PGresult* r = PQprepare(conn_, statement_name.c_str(), sql.c_str(), parameters, types);
    if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, spi::operation::prepare);
    PQclear(r);
    return statement_name;
}

std::unique_ptr<spi::backend_statement> postgresql_connection::prepare(std::string_view sql) {
    if (sql.find('\0') != std::string_view::npos)
        throw_usage("the statement text contains a NUL byte", backend_name, name_);
    // The rewriter must read string literals as the server will (scan.l): backslashes escape
    // in '...' only when standard_conforming_strings is off. The server reports the setting
    // on every change (GUC_REPORT), so this costs no round trip.
    const char* scs = PQparameterStatus(conn_, "standard_conforming_strings");
    rewritten_sql rewritten = rewrite_placeholders(sql, scs == nullptr || std::strcmp(scs, "off") != 0);
    if (rewritten.has_dollar_parameter)
        throw_usage("the statement uses a $n parameter; write ? placeholders (switchboard numbers them)",
                    backend_name, name_);
    // The Bind message counts parameters in an Int16 (protocol-message-formats.html).
    if (rewritten.parameter_count > 65535)
        throw_usage("the statement has " + std::to_string(rewritten.parameter_count) +
                        " parameters; PostgreSQL accepts at most 65535",
                    backend_name, name_);
    auto statement = std::make_unique<postgresql_statement>(*this, conn_, std::move(rewritten.text),
                                                            rewritten.parameter_count, numeric_as_double_);
    // A statement with parameters is PREPAREd at its first execute(), when the types of the
    // bound values are known (postgresql_statement). One without is prepared now, so that its
    // errors (syntax, unknown table) show here.
    if (rewritten.parameter_count == 0) statement->prepare_now();
    return statement;
}

void postgresql_connection::command(const char* sql, spi::operation op) {
    PGresult* r = PQexec(conn_, sql);
    if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, op);
    PQclear(r);
}

void postgresql_connection::ping() {
    // An empty query string: one round trip, no parsing, answered with EmptyQueryResponse.
    PGresult* r = PQexec(conn_, "");
    if (r == nullptr || PQresultStatus(r) != PGRES_EMPTY_QUERY) fail(r, spi::operation::ping);
    PQclear(r);
}

void postgresql_connection::begin(tx_mode mode) {
    // READ ONLY: every write then fails with 25006 (read_only_sql_transaction), classified
    // errc::read_only (sql-set-transaction.html).
    command(mode == tx_mode::read ? "BEGIN READ ONLY" : "BEGIN", spi::operation::begin);
    in_transaction_ = true;
}

void postgresql_connection::commit() {
    PGresult* r = PQexec(conn_, "COMMIT");
    if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, spi::operation::commit);
    // COMMIT of a transaction in which a statement failed succeeds as a command, with the tag
    // ROLLBACK (sql-commit.html; xact.c EndTransactionBlock, TBLOCK_ABORT): nothing was
    // committed. Reported as 25P02 (in_failed_sql_transaction), classified errc::usage: the
    // program committed after an error it had already been told about; the work must be
    // run again, and the transaction is over on the server (rollback() costs no round trip).
    // Hence transaction_ended: core refuses further statements until rollback(), each of
    // which would otherwise run, and commit, on its own.
    const bool rolled_back = std::strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
    PQclear(r);
    in_transaction_ = false;
    if (rolled_back) {
        spi::native_error e;
        e.op = spi::operation::commit;
        e.sqlstate = "25P02";
        e.message = "COMMIT rolled back: a statement of this transaction had failed, so PostgreSQL ended it "
                    "with ROLLBACK and nothing was committed";
        e.transaction_ended = true;
        throw spi::native_failure(std::move(e));
    }
}

void postgresql_connection::rollback() {
    // A lost session has rolled back already; and when the server holds no transaction
    // (after a COMMIT that rolled back), ROLLBACK would only draw a warning.
    if (PQstatus(conn_) == CONNECTION_BAD || PQtransactionStatus(conn_) == PQTRANS_IDLE) {
        in_transaction_ = false;
        return;
    }
    command("ROLLBACK", spi::operation::rollback);
    in_transaction_ = false;
}

std::int64_t postgresql_connection::lock_key(std::string_view name) noexcept {
    // FNV-1a, 64-bit (offset basis 14695981039346656037, prime 1099511628211).
    std::uint64_t h = 14695981039346656037ull;
    for (const char c : name) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return static_cast<std::int64_t>(h);  // two's complement: the same 64 bits
}

bool postgresql_connection::query_bool(const char* sql, std::int64_t key, spi::operation op) {
    char text[24];
    const auto [end, ec] = std::to_chars(text, text + sizeof text - 1, key);
    (void)ec;  // 20 characters hold any int64
    *end = '\0';
    const char* values[1] = {text};
    PGresult* r = PQexecParams(conn_, sql, 1, nullptr, values, nullptr, nullptr, 0);
    if (r == nullptr || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != 1)
        fail(r, op);
    const bool yes = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return yes;
}

void postgresql_connection::lock(std::string_view name, std::chrono::milliseconds timeout) {
    // Session-level advisory locks (functions-admin.html#FUNCTIONS-ADVISORY-LOCKS), polled
    // with pg_try_advisory_lock: a failed try changes nothing, so a timeout leaves the
    // caller's transaction intact, and no session setting (lock_timeout) is touched. The
    // pause between tries doubles from 1 ms to 50 ms, so a released lock is seen within 50 ms.
    // Re-entrant, as PostgreSQL's own: each lock() needs its unlock().
    using clock = std::chrono::steady_clock;
    const std::int64_t key = lock_key(name);
    constexpr const char* try_lock = "SELECT pg_try_advisory_lock($1::bigint)";
    if (query_bool(try_lock, key, spi::operation::lock)) return;
    const auto deadline = clock::now() + timeout;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        const auto now = clock::now();
        if (now >= deadline) break;
        std::this_thread::sleep_for(std::min<clock::duration>(pause, deadline - now));
        if (query_bool(try_lock, key, spi::operation::lock)) return;
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
    error_info info;
    info.kind = errc::lock_timeout;
    info.transient = true;
    info.connection_usable = true;
    info.message = "timed out after " + std::to_string(timeout.count()) + " ms waiting for advisory lock '" +
                   std::string(name) + "' (key " + std::to_string(key) + "), held by another session";
    info.backend = backend_name;
    info.database = name_;
    throw_error(std::move(info));
}

void postgresql_connection::unlock(std::string_view name) {
    // pg_advisory_unlock returns false (with a WARNING) when this session does not hold it.
    if (!query_bool("SELECT pg_advisory_unlock($1::bigint)", lock_key(name), spi::operation::lock))
        throw_usage("unlock: this session does not hold the advisory lock '" + std::string(name) + "'", backend_name,
                    name_);
}

server_identity postgresql_connection::identity() {
    server_identity id;
    if (const char* host = PQhost(conn_)) id.host = host;
    if (const char* port = PQport(conn_)) {
        unsigned value = 0;
        const std::string_view p(port);
        const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
        if (ec == std::errc{} && value <= 65535) id.port = static_cast<std::uint16_t>(value);
    }
    // Reported by the server at connect (GUC_REPORT): no round trip.
    if (const char* version = PQparameterStatus(conn_, "server_version")) id.version = version;
    PGresult* r = PQexec(conn_, "SELECT pg_is_in_recovery()");
    if (r == nullptr || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail(r, spi::operation::execute);
    id.role = PQgetvalue(r, 0, 0)[0] == 't' ? server_role::standby : server_role::primary;
    PQclear(r);
    return id;
}

}  // namespace switchboard::postgresql
