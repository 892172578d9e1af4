// SPDX-License-Identifier: MIT
// What MySQL/MariaDB error numbers mean to switchboard; every entry cites errmsg.h, mysqld_error.h or reliability.md.
#include "mysql_classifier.hpp"

#include <errmsg.h>
#include <mysqld_error.h>

#include <string_view>

namespace switchboard::mysql {

namespace {

using spi::classification;

// MySQL-only numbers, absent from (or reused by) MariaDB's mysqld_error.h, hence literals.
// https://dev.mysql.com/doc/mysql-errors/8.4/en/server-error-reference.html
constexpr long long mysql_er_query_timeout = 3024;               // ER_QUERY_TIMEOUT (max_execution_time); MariaDB: ER_UNUSED_1
constexpr long long mysql_er_check_constraint_violated = 3819;   // ER_CHECK_CONSTRAINT_VIOLATED (MySQL >= 8.0.16)
constexpr long long mysql_er_client_interaction_timeout = 4031;  // MySQL >= 8.0.24; MariaDB: ER_REFERENCED_TRG_DOES_NOT_EXIST

classification with(errc kind, bool transient) noexcept {
    classification c = classification::of(kind);
    c.transient = transient;
    return c;
}

// ER_OPTION_PREVENTS_STATEMENT 1290 is "The MariaDB server is running with the %s option so
// it cannot execute this statement": read_only only when the option is --read-only or
// --super-read-only (reliability.md §1.3; observed "…with the --read-only option…"). The
// option name is the %s argument, so it stays English under a localised lc_messages.
bool names_read_only(std::string_view message) noexcept {
    return message.find("read-only") != std::string_view::npos || message.find("read_only") != std::string_view::npos;
}

// Everything but the connect-time rule in classify().
classification classify_code(const spi::native_error& e) noexcept {
    const bool mariadb = is_mariadb(e.server);
    // GET_LOCK returned NULL, which the backend reports with no error number: "an error
    // occurred (such as running out of memory or the thread was killed)" (refman
    // locking-functions.html). Observed on MariaDB 10.11: KILL QUERY during the wait gives
    // NULL, not 1317, and the connection goes on. A cancelled wait, like 1317.
    if (e.op == spi::operation::lock && e.code == 0) return classification::of(errc::timeout);
    switch (e.code) {
        // ---- the connection is gone (client codes: errmsg.h; reliability.md §1.3) ------------
        case CR_SERVER_GONE_ERROR:     // 2006 "disappeared _between_ queries"; RST on an idle connection, wait_timeout
        case CR_SERVER_LOST:           // 2013 "disappeared _during_ a query"; KILL, server crash, read_timeout, FIN
        case CR_SERVER_LOST_EXTENDED:  // 2055 libmysqlclient's variant; C/C: message only
        case CR_ERR_NET_READ:          // 5013 MariaDB C/C only (libmariadb/ma_net.c)
        case CR_ERR_NET_WRITE:         // 5014 MariaDB C/C only
            return classification::of(errc::disconnected);
        case ER_SERVER_SHUTDOWN:  // 1053 "Server shutdown in progress"; Rails maps it to ConnectionFailed
            return classification::of(errc::disconnected);
        // mysqld_error.h 1152, 1158–1161, 1184: ER_ABORTING_CONNECTION, ER_NET_READ_ERROR,
        // ER_NET_READ_INTERRUPTED, ER_NET_ERROR_ON_WRITE, ER_NET_WRITE_INTERRUPTED,
        // ER_NEW_ABORTING_CONNECTION: mostly server-log texts; the connection is gone if ever seen.
        case ER_ABORTING_CONNECTION:
        case ER_NET_READ_ERROR:
        case ER_NET_READ_INTERRUPTED:
        case ER_NET_ERROR_ON_WRITE:
        case ER_NET_WRITE_INTERRUPTED:
        case ER_NEW_ABORTING_CONNECTION:
            return classification::of(errc::disconnected);

        // ---- could not connect (errmsg.h) ----------------------------------------------------
        case CR_CONNECTION_ERROR:  // 2002: MariaDB C/C also for TCP refusals (pvio_socket.c), reliability.md §1.3
        case CR_CONN_HOST_ERROR:   // 2003: libmysqlclient's TCP code
        case CR_UNKNOWN_HOST:      // 2005
            return classification::of(errc::connect_failed);
        case CR_SSL_CONNECTION_ERROR:  // 2026: a TLS failure does not heal by retrying
            return with(errc::connect_failed, false);
        case ER_ACCESS_DENIED_ERROR:  // 1045: wrong user or password; retrying will not help
            return with(errc::connect_failed, false);
        // 5010: the server asked for an authentication plugin outside MARIADB_OPT_RESTRICTED_AUTH
        // (mysql_clear_password from a fake server, say); 2059: a plugin that cannot be loaded.
        // Neither heals by retrying.
        case CR_PLUGIN_NOT_ALLOWED:
        case CR_AUTH_PLUGIN_CANNOT_LOAD:
            return with(errc::connect_failed, false);

        // ---- too many connections (mysqld_error.h; observed 1040 "Too many connections") ----
        case ER_CON_COUNT_ERROR:            // 1040 max_connections
        case ER_TOO_MANY_USER_CONNECTIONS:  // 1203 max_user_connections
        case ER_USER_LIMIT_REACHED:         // 1226 a per-account resource limit
            return classification::of(errc::too_many_connections);

        // ---- lock conflicts ------------------------------------------------------------------
        // 1205: InnoDB rolls back only the statement; the transaction stays open unless
        // innodb_rollback_on_timeout (refman innodb-error-handling.html). Core rolls back before
        // re-running the unit of work.
        case ER_LOCK_WAIT_TIMEOUT: return classification::of(errc::lock_timeout);
        case ER_LOCK_DEADLOCK: return classification::of(errc::deadlock);  // 1213: the whole transaction was rolled back

        // ---- read-only -----------------------------------------------------------------------
        case ER_OPTION_PREVENTS_STATEMENT:  // 1290, see names_read_only
            return names_read_only(e.message) ? classification::of(errc::read_only) : classification::of(errc::other);
        case ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION:  // 1792, observed after START TRANSACTION READ ONLY
        case ER_READ_ONLY_MODE:                         // 1836
            return classification::of(errc::read_only);

        // ---- integrity (mysqld_error.h) ------------------------------------------------------
        case ER_DUP_ENTRY:            // 1062
        case ER_ROW_IS_REFERENCED_2:  // 1451
        case ER_NO_REFERENCED_ROW_2:  // 1452
        case ER_BAD_NULL_ERROR:       // 1048
        case ER_NO_DEFAULT_FOR_FIELD: // 1364 (strict mode)
        case ER_NO_REFERENCED_ROW:    // 1216
        case ER_ROW_IS_REFERENCED:    // 1217
            return classification::of(errc::integrity);

        // ---- syntax and unknown objects ------------------------------------------------------
        case ER_PARSE_ERROR:      // 1064, also two statements in one prepared text
        case ER_NO_SUCH_TABLE:    // 1146
        case ER_BAD_FIELD_ERROR:  // 1054
        case ER_SYNTAX_ERROR:     // 1149
        case ER_BAD_DB_ERROR:     // 1049 (at connect: connect_failed, see classify)
            return classification::of(errc::syntax);

        // ---- permission ----------------------------------------------------------------------
        case ER_DBACCESS_DENIED_ERROR:         // 1044
        case ER_TABLEACCESS_DENIED_ERROR:      // 1142
        case ER_COLUMNACCESS_DENIED_ERROR:     // 1143
        case ER_SPECIFIC_ACCESS_DENIED_ERROR:  // 1227
            return classification::of(errc::permission);

        // ---- statement timeouts and cancels: the connection goes on --------------------------
        case ER_QUERY_INTERRUPTED:  // 1317 KILL QUERY; observed: the connection stays usable
            return classification::of(errc::timeout);

        // ---- a protocol-use bug (errmsg.h 2014): usage, and the connection cannot be trusted --
        case CR_COMMANDS_OUT_OF_SYNC: {
            classification c = classification::of(errc::usage);
            c.connection_usable = false;
            return c;
        }
        default: break;
    }

    // ---- numbers whose meaning depends on the server flavour (reliability.md §1.3) ----------
    if (mariadb) {
        switch (e.code) {
            // 1927: MariaDB's own KILL test accepts "0, 2013 or ER_CONNECTION_KILLED".
            case ER_CONNECTION_KILLED: return classification::of(errc::disconnected);
            case ER_STATEMENT_TIMEOUT: return classification::of(errc::timeout);  // 1969 max_statement_time, observed
            case ER_CONSTRAINT_FAILED: return classification::of(errc::integrity);  // 4025 CHECK constraint
            // 4031 ER_REFERENCED_TRG_DOES_NOT_EXIST: a DDL naming an unknown trigger, never a
            // disconnection on MariaDB (SQLAlchemy and Rails get this wrong).
            case ER_REFERENCED_TRG_DOES_NOT_EXIST: return classification::of(errc::syntax);
            default: break;
        }
    } else {
        switch (e.code) {
            // "The client was disconnected by the server because of inactivity" (MySQL >= 8.0.24).
            case mysql_er_client_interaction_timeout: return classification::of(errc::disconnected);
            case mysql_er_query_timeout: return classification::of(errc::timeout);
            case mysql_er_check_constraint_violated: return classification::of(errc::integrity);
            default: break;
        }
    }
    return classification::of(errc::other);
}

}  // namespace

bool is_mariadb(std::string_view server) noexcept {
    return server.empty() || server.find("MariaDB") != std::string_view::npos;
}

bool is_lost_connection_code(long long code) noexcept {
    return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == CR_SERVER_LOST_EXTENDED ||
           code == CR_ERR_NET_READ || code == CR_ERR_NET_WRITE;
}

classification classify(const spi::native_error& e) noexcept {
    classification c = classify_code(e);
    // A handle that lost its connection is lost whatever the number (as the SQLite backend).
    if (e.connection_bad && e.op != spi::operation::connect && c.kind != errc::usage)
        c = classification::of(errc::disconnected);
    if (e.op != spi::operation::connect) return c;
    // Opening failed: there is no connection. Keep the two kinds that say why a caller should
    // wait (connect_failed, too_many_connections); anything else (1044 no access to the
    // database, 1049 unknown database, 2013 during the handshake) is connect_failed, transient
    // only when its cause is.
    if (c.kind == errc::connect_failed || c.kind == errc::too_many_connections) return c;
    return with(errc::connect_failed, c.transient);
}

}  // namespace switchboard::mysql
