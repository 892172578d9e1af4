// SPDX-License-Identifier: MIT
// MySQL/MariaDB driver options, and the connection: connect and harden, prepare, transactions, GET_LOCK, identity.
#include "mysql_connection.hpp"

#include "mysql_classifier.hpp"
#include "mysql_statement.hpp"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <new>
#include <string>
#include <utility>

namespace switchboard::mysql {

namespace {

constexpr std::string_view known_options =
    "connect_timeout, read_timeout, write_timeout, ssl_mode, ssl_ca, ssl_capath, ssl_cert, ssl_key, ssl_cipher, "
    "ssl_crl, charset";

[[noreturn]] void bad_value(std::string_view key, std::string_view expected) {
    // The key and what is expected, never the value: it might be a secret typed in the wrong place.
    throw_usage("mysql driver option " + std::string(key) + ": expected " + std::string(expected), "mysql");
}

// Connector/C keeps timeouts in seconds and multiplies them by 1000 into an int for poll()
// (ma_pvio_socket.c), so anything above INT_MAX / 1000 would overflow.
constexpr unsigned max_timeout_seconds = 2147483;

unsigned parse_seconds(std::string_view key, std::string_view value) {
    unsigned s = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
    if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || s > max_timeout_seconds)
        bad_value(key, "whole seconds, 0 to " + std::to_string(max_timeout_seconds));
    return s;
}

std::string parse_path(std::string_view key, std::string_view value) {
    if (value.empty() || value.find('\0') != std::string_view::npos) bad_value(key, "a file name or setting without NUL bytes");
    return std::string(value);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
    });
}

bool has_nul(const std::optional<std::string>& s) noexcept { return s && s->find('\0') != std::string::npos; }

// Replaces every occurrence of `secret` in `text` by "***".
void scrub(std::string& text, const std::optional<std::string>& secret) {
    if (!secret || secret->empty()) return;
    for (std::size_t at = text.find(*secret); at != std::string::npos; at = text.find(*secret, at + 3))
        text.replace(at, secret->size(), "***");
}

}  // namespace

// ---- options --------------------------------------------------------------------------------

mysql_options mysql_options::from(const url& location) {
    mysql_options o;
    const auto& hosts = location.hosts();
    if (hosts.size() > 1)
        throw_usage("a mysql URL takes one host: Connector/C has no multi-host failover (route to another "
                    "database instead)",
                    "mysql");
    if (!hosts.empty()) {
        o.host = hosts.front().host;
        o.port = hosts.front().port.value_or(0);
    }
    o.user = location.user();
    o.password = location.password();
    o.database = location.database();
    if (o.host.find('\0') != std::string::npos || has_nul(o.user) || has_nul(o.password) ||
        o.database.find('\0') != std::string::npos)
        throw_usage("the mysql URL holds a NUL byte in its host, user, password or database", "mysql");

    std::optional<std::string_view> mode;
    for (const auto& [key, value] : location.driver_options()) {
        if (key == "connect_timeout") o.connect_timeout = parse_seconds(key, value);
        else if (key == "read_timeout") o.read_timeout = parse_seconds(key, value);
        else if (key == "write_timeout") o.write_timeout = parse_seconds(key, value);
        else if (key == "ssl_mode") {
            if (value != "disabled" && value != "required" && value != "verify_ca" && value != "verify_identity")
                bad_value(key, "disabled | required | verify_ca | verify_identity");
            mode = value;
        } else if (key == "ssl_ca") o.ssl_ca = parse_path(key, value);
        else if (key == "ssl_capath") o.ssl_capath = parse_path(key, value);
        else if (key == "ssl_cert") o.ssl_cert = parse_path(key, value);
        else if (key == "ssl_key") o.ssl_key = parse_path(key, value);
        else if (key == "ssl_cipher") o.ssl_cipher = parse_path(key, value);
        else if (key == "ssl_crl") o.ssl_crl = parse_path(key, value);
        else if (key == "charset") {
            // The backend hands out text as UTF-8: the connection character set is utf8mb4 always.
            if (!iequals(value, "utf8mb4")) bad_value(key, "utf8mb4 (the only character set this backend speaks)");
        } else if (key == "init_command")
            throw_usage("mysql driver option init_command is not supported: it would run again, unseen, on every "
                        "reconnect; run such statements explicitly",
                        "mysql");
        else
            // The key only: an unknown option's value might be a secret.
            throw_usage("unknown mysql driver option \"" + key + "\" (known: " + std::string(known_options) +
                            "; library options start with \"sb.\")",
                        "mysql");
    }
    const bool any_ssl_file = !o.ssl_ca.empty() || !o.ssl_capath.empty() || !o.ssl_cert.empty() ||
                              !o.ssl_key.empty() || !o.ssl_cipher.empty() || !o.ssl_crl.empty();
    if (!mode) {
        // Not guessing: TLS options without a mode would otherwise be opportunistic TLS, which a
        // man in the middle strips (BACKRONYM, reliability.md §3.3).
        if (any_ssl_file)
            throw_usage("mysql ssl_* options need ssl_mode (required, verify_ca or verify_identity)", "mysql");
        o.ssl = ssl_mode::disabled;
    } else if (*mode == "disabled") {
        if (any_ssl_file) throw_usage("mysql ssl_mode=disabled contradicts the ssl_* options given", "mysql");
        o.ssl = ssl_mode::disabled;
    } else if (*mode == "required") {
        o.ssl = ssl_mode::required;
    } else {
        o.ssl = *mode == "verify_ca" ? ssl_mode::verify_ca : ssl_mode::verify_identity;
    }
    return o;
}

// ---- connecting -----------------------------------------------------------------------------

mysql_connection::mysql_connection(mysql_options options, std::string_view database_name)
    : options_(std::move(options)), name_(database_name) {
    mysql_ = mysql_init(nullptr);  // library initialisation happens once inside, under pthread_once
    if (mysql_ == nullptr)
        throw spi::native_failure(native_error_of(spi::operation::connect, CR_OUT_OF_MEMORY, "HY000",
                                                  "mysql_init: out of memory"));
    try {
        configure();
        // No CLIENT_FOUND_ROWS (affected rows = changed rows), no CLIENT_MULTI_STATEMENTS, no
        // CLIENT_LOCAL_FILES. An absent user or password is passed as "", so Connector/C never
        // falls back to the MYSQL_PWD environment variable.
        const char* host = options_.host.empty() ? nullptr : options_.host.c_str();
        const char* db = options_.database.empty() ? nullptr : options_.database.c_str();
        if (mysql_real_connect(mysql_, host, options_.user ? options_.user->c_str() : "",
                               options_.password ? options_.password->c_str() : "", db, options_.port, nullptr,
                               0) == nullptr)
            fail(spi::operation::connect);
        const char* info = mysql_get_server_info(mysql_);
        server_ = info != nullptr ? info : "";
        // Connector/C 3.3 treats MYSQL_OPT_SSL_ENFORCE alone as "TLS if the server offers it":
        // it refuses a server without TLS only when the certificate is verified (my_auth.c,
        // send_client_reply_packet; observed: ssl_mode=required against a server without TLS
        // connected in the clear). So every TLS mode is checked here, and a session that is
        // not encrypted is never used.
        if (options_.ssl != ssl_mode::disabled && mysql_get_ssl_cipher(mysql_) == nullptr)
            throw spi::native_failure(native_error_of(
                spi::operation::connect, CR_SSL_CONNECTION_ERROR, "HY000",
                "TLS is required (ssl_mode) but the server did not use it; the connection was closed"));
    } catch (...) {
        mysql_close(mysql_);
        mysql_ = nullptr;
        throw;
    }
}

void mysql_connection::configure() {
    const auto set = [&](mysql_option option, const void* value) {
        if (mysql_optionsv(mysql_, option, value) != 0) fail(spi::operation::connect);
    };
    // Auto-reconnect silently loses the transaction, locks, temporary tables and prepared
    // statements and re-sends the statement: off, explicitly (reliability.md §1.3: money
    // created). Core reconnects, only at begin().
    const my_bool off = 0;
    set(MYSQL_OPT_RECONNECT, &off);
    // LOAD DATA LOCAL lets a malicious server read any client file; Connector/C enables it by
    // build default (reliability.md §3.3).
    const unsigned int no_local_infile = 0;
    set(MYSQL_OPT_LOCAL_INFILE, &no_local_infile);
    // utf8mb4 in the handshake: every text in and out is UTF-8 (all of it, emoji included).
    set(MYSQL_SET_CHARSET_NAME, "utf8mb4");
    // MYSQL_DATA_TRUNCATED tells mysql_statement a value outgrew its buffer.
    const my_bool report = 1;
    set(MYSQL_REPORT_DATA_TRUNCATION, &report);
    // A server (or whoever answers in its place) picks the authentication plugin, and may
    // switch to another mid-handshake (AuthSwitchRequest). Without a list, Connector/C 3.3
    // follows a switch to mysql_clear_password and sends the password as is, before this
    // backend can refuse an unencrypted session (observed with a fake server, in the default
    // mode and with ssl_mode=required). Only plugins that never reveal the password to an
    // unverified peer are allowed (allowed_auth_plugins); any other is refused before it runs
    // (my_auth.c, run_plugin_auth: CR_PLUGIN_NOT_ALLOWED 5010).
    set(MARIADB_OPT_RESTRICTED_AUTH, allowed_auth_plugins(options_.ssl).data());
    // Option files (my.cnf) are never read: no MYSQL_READ_DEFAULT_FILE / _GROUP, so nothing
    // outside the URL changes how this connection behaves.
    if (options_.connect_timeout != 0) set(MYSQL_OPT_CONNECT_TIMEOUT, &options_.connect_timeout);
    if (options_.read_timeout != 0) set(MYSQL_OPT_READ_TIMEOUT, &options_.read_timeout);
    if (options_.write_timeout != 0) set(MYSQL_OPT_WRITE_TIMEOUT, &options_.write_timeout);

    if (options_.ssl == ssl_mode::disabled) return;
    const auto set_text = [&](mysql_option option, const std::string& value) {
        if (!value.empty()) set(option, value.c_str());
    };
    set_text(MYSQL_OPT_SSL_CA, options_.ssl_ca);
    set_text(MYSQL_OPT_SSL_CAPATH, options_.ssl_capath);
    set_text(MYSQL_OPT_SSL_CERT, options_.ssl_cert);
    set_text(MYSQL_OPT_SSL_KEY, options_.ssl_key);
    set_text(MYSQL_OPT_SSL_CIPHER, options_.ssl_cipher);
    set_text(MYSQL_OPT_SSL_CRL, options_.ssl_crl);
    // BACKRONYM (CVE-2015-3152): without ENFORCE a man in the middle strips TLS; without
    // VERIFY_SERVER_CERT he presents any certificate (reliability.md §3.3). ENFORCE alone is
    // not enough with Connector/C 3.3: see the check after connecting.
    const my_bool on = 1;
    set(MYSQL_OPT_SSL_ENFORCE, &on);
    const my_bool verify = options_.ssl == ssl_mode::required ? 0 : 1;
    set(MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
}

std::string_view allowed_auth_plugins(ssl_mode mode) noexcept {
    // mysql_native_password and client_ed25519 prove knowledge of the password without sending
    // it (a SHA1 challenge-response; an Ed25519 signature). caching_sha2_password sends the
    // password itself whenever it counts the session as secure (caching_sha2_pw.c: always
    // under TLS, and whenever options.use_ssl is set, even if the server did not do TLS),
    // and otherwise encrypts it with whatever RSA public key the server sends: safe only once
    // the server's certificate is verified. MARIADB_OPT_RESTRICTED_AUTH is matched with
    // strstr; no plugin's name is a substring of another's in these lists.
    switch (mode) {
        case ssl_mode::verify_ca:
        case ssl_mode::verify_identity: return "mysql_native_password,client_ed25519,caching_sha2_password";
        case ssl_mode::disabled:
        case ssl_mode::required: break;
    }
    return "mysql_native_password,client_ed25519";
}

mysql_connection::~mysql_connection() {
    // Core has destroyed every statement it holds; these two are the connection's own.
    get_lock_.reset();
    release_lock_.reset();
    // COM_QUIT; the server rolls back an open transaction. mysql_close does not read a result
    // still on the wire (mysql_close_slow_part forces the handle ready), and detaches every
    // statement of the handle (ma_invalidate_stmts): the retired ones are then only freed.
    if (mysql_ != nullptr) mysql_close(mysql_);
    for (MYSQL_STMT* stmt : retired_) mysql_stmt_close(stmt);
}

// ---- errors ---------------------------------------------------------------------------------

spi::native_error mysql_connection::native_error_of(spi::operation op, unsigned code, const char* sqlstate,
                                                    const char* message) {
    spi::native_error e;
    e.op = op;
    // Lost before this call: Connector/C refuses on the dead handle (2006) without sending.
    e.not_sent = lost_ && op != spi::operation::fetch;
    e.code = code;
    if (sqlstate != nullptr && std::string_view(sqlstate) != "00000") e.sqlstate = sqlstate;
    e.message = message != nullptr ? message : "";
    // Defensive: no Connector/C or server message is known to echo the password, but none
    // may ever carry it out (reliability.md §3.1).
    scrub(e.message, options_.password);
    e.server = server_;
    e.connection_bad = is_lost_connection_code(code);
    if (in_tx_ && !e.connection_bad && op != spi::operation::connect && op != spi::operation::begin)
        e.transaction_ended = ends_transaction(code);
    // Also a server-side end of the session (1927 killed, 1053 shutdown): rollback() then
    // makes no round trip.
    if (e.connection_bad || classify(e).kind == errc::disconnected) lost_ = true;
    if (e.code == 0 && e.message.empty()) e.message = "unknown MySQL client failure";
    return e;
}

void mysql_connection::fail(spi::operation op) {
    throw spi::native_failure(native_error_of(op, mysql_errno(mysql_), mysql_sqlstate(mysql_), mysql_error(mysql_)));
}

void mysql_connection::defer_current_error() noexcept {
    try {
        // Classifying it marks this connection lost when it is, inside a transaction or not
        // (the next command then fails on the dead handle, never sent).
        defer(native_error_of(spi::operation::fetch, mysql_errno(mysql_), mysql_sqlstate(mysql_), mysql_error(mysql_)));
    } catch (...) {  // no memory for the message: the next command finds the handle's state itself
    }
}

void mysql_connection::defer(spi::native_error e, const mysql_statement* owner) noexcept {
    // Outside a transaction there is nothing for it to end: the rows were discarded, and with
    // them their error.
    if (!in_tx_) return;
    try {
        deferred_ = std::move(e);
        deferred_owner_ = owner;
    } catch (...) {
    }
}

void mysql_connection::throw_deferred() {
    spi::native_error e = std::move(*deferred_);
    deferred_.reset();
    deferred_owner_ = nullptr;
    try {
        e.message += " (in the rest of an earlier statement's result, read when this command needed the connection)";
    } catch (...) {
    }
    throw spi::native_failure(std::move(e));
}

bool mysql_connection::ends_transaction(unsigned code) noexcept {
    switch (code) {
        // InnoDB rolls back the whole transaction on a deadlock and when the lock table is
        // full (refman innodb-error-handling.html); Galera reports a certification failure
        // as 1213 too. The transaction is gone even though the session goes on.
        case ER_LOCK_DEADLOCK:    // 1213
        case ER_LOCK_TABLE_FULL:  // 1206
            return true;
        // 1205 rolls back only the statement, unless innodb_rollback_on_timeout.
        case ER_LOCK_WAIT_TIMEOUT: return rollback_on_timeout();
        default: break;
    }
    // Whatever the error, the transaction may already have ended before it: a DDL statement
    // commits implicitly and leaves autocommit on. The server says so in the status flags of
    // every OK and EOF packet (mysql->server_status, SERVER_STATUS_IN_TRANS; an error packet
    // carries none, so the flags are those of the last statement that succeeded). Free to read.
    return (mysql_->server_status & SERVER_STATUS_IN_TRANS) == 0;
}

bool mysql_connection::rollback_on_timeout() noexcept {
    if (rollback_on_timeout_) return *rollback_on_timeout_;
    // A startup option (not dynamic): one question per connection, at the first 1205 inside a
    // transaction. An error packet leaves the wire free; should a result still hold it, or the
    // question fail, the answer is "ended", the safe one: core then refuses the rest of the
    // transaction until rollback(), where the opposite mistake would let later writes commit
    // on their own.
    if (wire_busy()) return true;
    constexpr std::string_view q = "SELECT @@innodb_rollback_on_timeout";
    if (mysql_real_query(mysql_, q.data(), static_cast<unsigned long>(q.size())) != 0) return true;
    MYSQL_RES* res = mysql_store_result(mysql_);
    if (res == nullptr) return true;
    MYSQL_ROW row = mysql_fetch_row(res);
    const bool on = row == nullptr || row[0] == nullptr || row[0][0] != '0';
    mysql_free_result(res);
    rollback_on_timeout_ = on;
    return on;
}

// ---- the wire -------------------------------------------------------------------------------

void mysql_connection::buffer_streaming() {
    mysql_statement* s = streaming_;
    streaming_ = nullptr;
    s->buffer_rest();
}

void mysql_connection::retire(MYSQL_STMT* stmt, bool holds_wire) noexcept {
    if (!holds_wire && !wire_busy()) {
        // The wire is free: COM_STMT_CLOSE goes out now (it has no reply).
        mysql_stmt_close(stmt);
        return;
    }
    try {
        if (holds_wire) {
            retired_.insert(retired_.begin(), stmt);  // closed first: its result holds the wire
            retired_wire_ = true;
        } else {
            retired_.push_back(stmt);
        }
    } catch (const std::bad_alloc&) {
        // No memory to keep it: close it now, which reads the result on the wire to its end
        // (Connector/C flushes it), as every statement did before retiring existed.
        if (holds_wire) retired_wire_ = false;
        mysql_stmt_close(stmt);
    }
}

void mysql_connection::close_retired() noexcept {
    // mysql_stmt_close flushes whatever result is on the wire, whoever's it is: never while a
    // live statement streams (that stream is buffered by make_way first, or it belongs to the
    // statement about to run, whose reset() comes first).
    if (streaming_ != nullptr) return;
    // A retired statement's own result first: closing it reads the rest off the wire (no
    // client memory) and sends COM_STMT_CLOSE; the others then only send COM_STMT_CLOSE.
    for (MYSQL_STMT* stmt : retired_) mysql_stmt_close(stmt);
    retired_.clear();
    retired_wire_ = false;
}

void mysql_connection::query(std::string_view sql, spi::operation op) {
    make_way(nullptr);
    if (mysql_real_query(mysql_, sql.data(), static_cast<unsigned long>(sql.size())) != 0) fail(op);
}

std::unique_ptr<mysql_statement> mysql_connection::prepare_statement(std::string_view sql) {
    make_way(nullptr);
    MYSQL_STMT* stmt = mysql_stmt_init(mysql_);
    if (stmt == nullptr) fail(spi::operation::prepare);
    if (mysql_stmt_prepare(stmt, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
        spi::native_error e = native_error_of(spi::operation::prepare, mysql_stmt_errno(stmt), mysql_stmt_sqlstate(stmt),
                                              mysql_stmt_error(stmt));
        mysql_stmt_close(stmt);  // a statement that never prepared sends nothing to close
        throw spi::native_failure(std::move(e));
    }
    return std::make_unique<mysql_statement>(*this, stmt, sql);
}

std::unique_ptr<spi::backend_statement> mysql_connection::prepare(std::string_view sql) {
    return prepare_statement(sql);
}

// ---- transactions ---------------------------------------------------------------------------

void mysql_connection::ping() {
    // COM_PING: one round trip. MYSQL_OPT_RECONNECT is off, so a lost connection fails
    // (2006/2013) instead of being silently replaced.
    make_way(nullptr);
    if (mysql_ping(mysql_) != 0) fail(spi::operation::ping);
}

void mysql_connection::begin(tx_mode mode) {
    // READ ONLY: a write then fails with ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION 1792 (read_only).
    if (mode == tx_mode::read) query("START TRANSACTION READ ONLY", spi::operation::begin);
    else query("START TRANSACTION", spi::operation::begin);
    in_tx_ = true;
}

void mysql_connection::commit() {
    // A failed COMMIT leaves the transaction to rollback(); a deadlock reported at COMMIT
    // (Galera) is marked transaction_ended like any other.
    query("COMMIT", spi::operation::commit);
    in_tx_ = false;
}

void mysql_connection::rollback() {
    in_tx_ = false;
    // Whatever the discarded rows said, the transaction ends here; but a lost connection must
    // reach core, so that it closes the connection instead of reusing it.
    if (deferred_ && lost_) throw_deferred();
    deferred_.reset();
    // (Making way for ROLLBACK may find an error in a result still streaming: with in_tx_
    // off it is not kept, and only a lost connection is thrown.)
    // A lost connection has lost its transaction with it: the server rolls back.
    if (lost_) return;
    query("ROLLBACK", spi::operation::rollback);
}

// ---- named locks ----------------------------------------------------------------------------

std::string lock_key(std::string_view name) {
    // MariaDB refuses lock names longer than 64 characters; up to 64 bytes is always within.
    if (name.size() <= 64) return std::string(name);
    // Two 64-bit FNV-1a hashes with different offset bases: 128 bits, collision-free in practice.
    std::uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
    for (unsigned char c : name) {
        a = (a ^ c) * 0x100000001b3ull;
        b = (b ^ c) * 0x100000001b3ull;
        b ^= b >> 29;
    }
    char out[3 + 32 + 1];
    std::snprintf(out, sizeof out, "sb:%016llx%016llx", static_cast<unsigned long long>(a),
                  static_cast<unsigned long long>(b));
    return std::string(out);
}

std::optional<std::int64_t> mysql_connection::lock_call(std::unique_ptr<mysql_statement>& stmt, std::string_view sql,
                                                        std::span<const value_view> params) {
    if (!stmt) stmt = prepare_statement(sql);
    std::optional<std::int64_t> out;
    try {
        stmt->execute(params);
        if (stmt->next_row()) {
            const value_view v = stmt->column(0);
            if (const auto* i = std::get_if<std::int64_t>(&v)) out = *i;
        }
        stmt->reset();
    } catch (spi::native_failure& f) {
        stmt->reset();
        f.error().op = spi::operation::lock;
        throw;
    }
    return out;
}

void mysql_connection::lock(std::string_view name, std::chrono::milliseconds timeout) {
    if (name.empty()) throw_usage("a named lock needs a non-empty name", "mysql", name_);
    const std::string key = lock_key(name);
    // GET_LOCK takes fractional seconds (MariaDB >= 10.0, MySQL >= 5.7); 0 tries once.
    const double seconds = timeout.count() <= 0 ? 0.0 : static_cast<double>(timeout.count()) / 1000.0;
    const std::array<value_view, 2> params{value_view(std::string_view(key)), value_view(seconds)};
    const std::optional<std::int64_t> got = lock_call(get_lock_, "SELECT GET_LOCK(?, ?)", params);
    if (got == 1) return;
    if (got == 0) {
        // "0 if the attempt timed out (for example, because another client has previously locked
        // the name)" (refman locking-functions.html): transient, the connection goes on.
        error_info info;
        info.kind = errc::lock_timeout;
        info.transient = true;
        info.connection_usable = true;
        info.message = "named lock '" + std::string(name) + "' is held by another session; not granted within " +
                       std::to_string(timeout.count()) + " ms";
        info.backend = "mysql";
        info.database = name_;
        throw_error(std::move(info));
    }
    // NULL: "if an error occurred (such as running out of memory or the thread was killed)";
    // KILL QUERY of the wait gives it. No error number: the classifier reads code 0 of
    // operation::lock as a cancelled wait (errc::timeout).
    throw spi::native_failure(native_error_of(spi::operation::lock, 0, nullptr,
                                              "GET_LOCK returned NULL: the wait was interrupted (KILL QUERY) or "
                                              "the server failed to take the lock"));
}

void mysql_connection::unlock(std::string_view name) {
    if (name.empty()) throw_usage("a named lock needs a non-empty name", "mysql", name_);
    const std::string key = lock_key(name);
    const std::array<value_view, 1> params{value_view(std::string_view(key))};
    // An error kept from discarded rows is for the user's next command; releasing the lock
    // must not consume it (nor fail because of it, leaving the lock held).
    keep_deferred_ = true;
    struct reset_flag {
        bool& flag;
        ~reset_flag() { flag = false; }
    } done{keep_deferred_};
    const std::optional<std::int64_t> released = lock_call(release_lock_, "SELECT RELEASE_LOCK(?)", params);
    // 1: released; 0: held by another session; NULL: nobody holds it.
    if (released != 1)
        throw_usage("named lock '" + std::string(name) + "' is not held by this connection", "mysql", name_);
}

// ---- identity -------------------------------------------------------------------------------

server_identity mysql_connection::identity() {
    server_identity id;
    id.host = options_.host.empty() ? "localhost" : options_.host;
    id.port = static_cast<std::uint16_t>(options_.port != 0 ? options_.port : MYSQL_PORT);
    id.version = server_;
    // One round trip. A server running read-only (a replica, by convention) refuses writes
    // from ordinary users: standby for routing.
    query("SELECT @@global.read_only", spi::operation::execute);
    MYSQL_RES* res = mysql_store_result(mysql_);
    if (res == nullptr) fail(spi::operation::fetch);
    MYSQL_ROW row = mysql_fetch_row(res);
    const bool read_only = row != nullptr && row[0] != nullptr && row[0][0] == '1';
    mysql_free_result(res);
    id.role = read_only ? server_role::standby : server_role::primary;
    return id;
}

}  // namespace switchboard::mysql
