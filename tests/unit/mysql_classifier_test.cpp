// SPDX-License-Identifier: MIT
// Table test of the MySQL/MariaDB classifier over the error numbers and messages the libraries really produce.
#include "mysql_classifier.hpp"

#include <switchboard/spi/backend.hpp>

#include <catch2/catch.hpp>
#include <errmsg.h>
#include <mysqld_error.h>

#include <string>
#include <vector>

using switchboard::errc;
using switchboard::spi::classification;
using switchboard::spi::native_error;
using switchboard::spi::operation;

namespace {

// mysql_get_server_info() of the two flavours.
const std::string mariadb = "10.11.19-MariaDB";
const std::string mariadb_proxied = "5.5.5-10.11.19-MariaDB-log";
const std::string mysql8 = "8.0.36";

struct row {
    const char* what;
    operation op;
    long long code;
    const char* sqlstate;
    std::string message;
    std::string server;
    errc kind;
    bool transient;
    bool usable;
};

native_error error_of(const row& r) {
    native_error e;
    e.op = r.op;
    e.code = r.code;
    e.sqlstate = r.sqlstate;
    e.message = r.message;
    e.server = r.server;
    e.connection_bad = switchboard::mysql::is_lost_connection_code(r.code);  // as the backend sets it
    return e;
}

// Messages as Connector/C 3.3.20 and MariaDB 10.11.19 print them (reliability.md §1.3, observed
// there unless marked), or from mysqld_error.h / the MySQL 8.4 error reference.
const std::vector<row>& table() {
    static const std::vector<row> rows{
        // ---- connect failures -------------------------------------------------------------
        // Observed: a refused TCP port gives 2002 (not 2003) with C/C, and an unreliable errno.
        {"2002 refused TCP port", operation::connect, CR_CONNECTION_ERROR, "HY000",
         "Can't connect to server on '127.0.0.1' (115)", "", errc::connect_failed, true, false},
        {"2002 missing socket", operation::connect, CR_CONNECTION_ERROR, "HY000",
         "Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)", "", errc::connect_failed, true, false},
        {"2003 libmysqlclient TCP", operation::connect, CR_CONN_HOST_ERROR, "HY000",
         "Can't connect to MySQL server on '127.0.0.1:3306' (111)", "", errc::connect_failed, true, false},
        {"2005 unknown host", operation::connect, CR_UNKNOWN_HOST, "HY000", "Unknown server host 'nowhere.invalid' (-2)",
         "", errc::connect_failed, true, false},
        {"2026 TLS", operation::connect, CR_SSL_CONNECTION_ERROR, "HY000",
         "SSL connection error: certificate verify failed", "", errc::connect_failed, false, false},
        {"1045 wrong password", operation::connect, ER_ACCESS_DENIED_ERROR, "28000",
         "Access denied for user 'switchboard'@'localhost' (using password: YES)", "", errc::connect_failed, false, false},
        // Observed against a fake server that switches to mysql_clear_password.
        {"5010 plugin not allowed", operation::connect, CR_PLUGIN_NOT_ALLOWED, "HY000",
         "Authentication plugin 'mysql_clear_password' couldn't be found in restricted_auth plugin list.", "",
         errc::connect_failed, false, false},
        {"2059 plugin cannot load", operation::connect, CR_AUTH_PLUGIN_CANNOT_LOAD, "HY000",
         "Plugin client_ed25519 could not be loaded: not found", "", errc::connect_failed, false, false},
        // Observed: a silent peer times out the handshake with 2013 at connect_timeout.
        {"2013 during the handshake", operation::connect, CR_SERVER_LOST, "HY000",
         "Lost connection to server at 'handshake: reading initial communication packet', system error: 110", "",
         errc::connect_failed, true, false},
        {"1049 unknown database at connect", operation::connect, ER_BAD_DB_ERROR, "42000", "Unknown database 'nope'",
         "", errc::connect_failed, false, false},
        {"1044 no access to the database at connect", operation::connect, ER_DBACCESS_DENIED_ERROR, "42000",
         "Access denied for user 'u'@'%' to database 'db'", "", errc::connect_failed, false, false},
        // ---- too many connections (kept at connect: it says why to wait) --------------------
        {"1040 at connect", operation::connect, ER_CON_COUNT_ERROR, "08004", "Too many connections", "",
         errc::too_many_connections, true, false},
        {"1203", operation::connect, ER_TOO_MANY_USER_CONNECTIONS, "42000",
         "User u already has more than 'max_user_connections' active connections", "", errc::too_many_connections, true,
         false},
        {"1226", operation::execute, ER_USER_LIMIT_REACHED, "42000",
         "User 'u' has exceeded the 'max_queries_per_hour' resource (current value: 10)", mariadb,
         errc::too_many_connections, true, false},
        // ---- lost connections -----------------------------------------------------------------
        // Observed: idle KILL, then the next query 2013 and the one after 2006; wait_timeout 2006.
        {"2006 between queries", operation::execute, CR_SERVER_GONE_ERROR, "HY000", "Server has gone away", mariadb,
         errc::disconnected, true, false},
        {"2006 at prepare", operation::prepare, CR_SERVER_GONE_ERROR, "HY000", "Server has gone away", mariadb,
         errc::disconnected, true, false},
        {"2013 during a query", operation::execute, CR_SERVER_LOST, "HY000", "Lost connection to server during query",
         mariadb, errc::disconnected, true, false},
        {"2013 mid-result", operation::fetch, CR_SERVER_LOST, "HY000", "Lost connection to server during query", mariadb,
         errc::disconnected, true, false},
        // The classifier only says disconnected; core makes it commit_outcome_unknown.
        {"2013 during COMMIT", operation::commit, CR_SERVER_LOST, "HY000", "Lost connection to server during query",
         mariadb, errc::disconnected, true, false},
        {"2013 at begin", operation::begin, CR_SERVER_LOST, "HY000", "Lost connection to server during query", mariadb,
         errc::disconnected, true, false},
        {"2055 libmysqlclient", operation::execute, CR_SERVER_LOST_EXTENDED, "HY000",
         "Lost connection to MySQL server at 'reading initial communication packet', system error: 104", mysql8,
         errc::disconnected, true, false},
        {"5013 net read", operation::fetch, CR_ERR_NET_READ, "HY000", "Error while reading packet", mariadb,
         errc::disconnected, true, false},
        {"5014 net write", operation::execute, CR_ERR_NET_WRITE, "HY000", "Error while writing packet", mariadb,
         errc::disconnected, true, false},
        {"1927 MariaDB KILL", operation::execute, ER_CONNECTION_KILLED, "70100", "Connection was killed", mariadb,
         errc::disconnected, true, false},
        {"1053 shutdown", operation::execute, ER_SERVER_SHUTDOWN, "08S01", "Server shutdown in progress", mariadb,
         errc::disconnected, true, false},
        {"1158 net read error", operation::execute, ER_NET_READ_ERROR, "08S01", "Got an error reading communication packets",
         mariadb, errc::disconnected, true, false},
        {"1184 aborting", operation::execute, ER_NEW_ABORTING_CONNECTION, "08S01",
         "Aborted connection 12 to db: 'db' user: 'u' host: 'h' (Got timeout reading communication packets)", mariadb,
         errc::disconnected, true, false},
        // 4031 on MySQL >= 8.0.24 only; on MariaDB it is a DDL error (reliability.md §1.3).
        {"4031 MySQL inactivity", operation::execute, 4031, "HY000",
         "The client was disconnected by the server because of inactivity. See wait_timeout and interactive_timeout "
         "for configuring this behavior.",
         mysql8, errc::disconnected, true, false},
        {"4031 MariaDB is NOT a disconnection", operation::execute, ER_REFERENCED_TRG_DOES_NOT_EXIST, "HY000",
         "Referenced trigger 'trg1' for the given action time and event type does not exist", mariadb, errc::syntax,
         false, true},
        {"4031 MariaDB through a proxy", operation::execute, ER_REFERENCED_TRG_DOES_NOT_EXIST, "HY000",
         "Referenced trigger 'trg1' for the given action time and event type does not exist", mariadb_proxied,
         errc::syntax, false, true},
        // ---- lock conflicts -----------------------------------------------------------------
        // 1205: only the statement is rolled back; the transaction stays open until rollback().
        {"1205 lock wait timeout", operation::execute, ER_LOCK_WAIT_TIMEOUT, "HY000",
         "Lock wait timeout exceeded; try restarting transaction", mariadb, errc::lock_timeout, true, true},
        {"1213 deadlock", operation::execute, ER_LOCK_DEADLOCK, "40001",
         "Deadlock found when trying to get lock; try restarting transaction", mariadb, errc::deadlock, true, true},
        {"1213 at commit", operation::commit, ER_LOCK_DEADLOCK, "40001",
         "Deadlock found when trying to get lock; try restarting transaction", mariadb, errc::deadlock, true, true},
        // ---- read-only ----------------------------------------------------------------------
        {"1290 --read-only", operation::execute, ER_OPTION_PREVENTS_STATEMENT, "HY000",
         "The MariaDB server is running with the --read-only option so it cannot execute this statement", mariadb,
         errc::read_only, false, true},
        {"1290 MySQL --super-read-only", operation::execute, ER_OPTION_PREVENTS_STATEMENT, "HY000",
         "The MySQL server is running with the --super-read-only option so it cannot execute this statement", mysql8,
         errc::read_only, false, true},
        {"1290 without read-only", operation::execute, ER_OPTION_PREVENTS_STATEMENT, "HY000",
         "The MariaDB server is running with the --secure-file-priv option so it cannot execute this statement", mariadb,
         errc::other, false, true},
        {"1792 read-only transaction", operation::execute, ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, "25006",
         "Cannot execute statement in a READ ONLY transaction", mariadb, errc::read_only, false, true},
        {"1836 read-only mode", operation::execute, ER_READ_ONLY_MODE, "HY000", "Running in read-only mode", mariadb,
         errc::read_only, false, true},
        // ---- integrity ----------------------------------------------------------------------
        {"1062 duplicate", operation::execute, ER_DUP_ENTRY, "23000", "Duplicate entry '1' for key 'PRIMARY'", mariadb,
         errc::integrity, false, true},
        {"1451 referenced", operation::execute, ER_ROW_IS_REFERENCED_2, "23000",
         "Cannot delete or update a parent row: a foreign key constraint fails", mariadb, errc::integrity, false, true},
        {"1452 no referenced row", operation::execute, ER_NO_REFERENCED_ROW_2, "23000",
         "Cannot add or update a child row: a foreign key constraint fails", mariadb, errc::integrity, false, true},
        {"1048 NOT NULL", operation::execute, ER_BAD_NULL_ERROR, "23000", "Column 'v' cannot be null", mariadb,
         errc::integrity, false, true},
        {"1364 no default", operation::execute, ER_NO_DEFAULT_FOR_FIELD, "HY000", "Field 'v' doesn't have a default value",
         mariadb, errc::integrity, false, true},
        {"1216", operation::execute, ER_NO_REFERENCED_ROW, "23000",
         "Cannot add or update a child row: a foreign key constraint fails", mariadb, errc::integrity, false, true},
        {"1217", operation::execute, ER_ROW_IS_REFERENCED, "23000",
         "Cannot delete or update a parent row: a foreign key constraint fails", mariadb, errc::integrity, false, true},
        {"4025 MariaDB CHECK", operation::execute, ER_CONSTRAINT_FAILED, "23000",
         "CONSTRAINT `c` failed for `db`.`t`", mariadb, errc::integrity, false, true},
        {"3819 MySQL CHECK", operation::execute, 3819, "HY000", "Check constraint 'c' is violated.", mysql8,
         errc::integrity, false, true},
        // ---- syntax -------------------------------------------------------------------------
        {"1064 parse", operation::prepare, ER_PARSE_ERROR, "42000",
         "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for "
         "the right syntax to use near 'SELEC 1' at line 1",
         mariadb, errc::syntax, false, true},
        {"1146 no table", operation::prepare, ER_NO_SUCH_TABLE, "42S02", "Table 'db.nope' doesn't exist", mariadb,
         errc::syntax, false, true},
        {"1054 no column", operation::prepare, ER_BAD_FIELD_ERROR, "42S22", "Unknown column 'nope' in 'field list'",
         mariadb, errc::syntax, false, true},
        {"1149", operation::prepare, ER_SYNTAX_ERROR, "42000", "You have an error in your SQL syntax", mariadb,
         errc::syntax, false, true},
        // ---- permission ---------------------------------------------------------------------
        {"1044 later", operation::execute, ER_DBACCESS_DENIED_ERROR, "42000",
         "Access denied for user 'u'@'%' to database 'other'", mariadb, errc::permission, false, true},
        {"1142", operation::prepare, ER_TABLEACCESS_DENIED_ERROR, "42000",
         "INSERT command denied to user 'u'@'localhost' for table `db`.`t`", mariadb, errc::permission, false, true},
        {"1143", operation::prepare, ER_COLUMNACCESS_DENIED_ERROR, "42000",
         "SELECT command denied to user 'u'@'localhost' for column 'c' in table 't'", mariadb, errc::permission, false,
         true},
        {"1227", operation::execute, ER_SPECIFIC_ACCESS_DENIED_ERROR, "42000",
         "Access denied; you need (at least one of) the SUPER privilege(s) for this operation", mariadb,
         errc::permission, false, true},
        // ---- timeouts and cancels: the connection goes on ---------------------------------
        {"1317 KILL QUERY", operation::execute, ER_QUERY_INTERRUPTED, "70100", "Query execution was interrupted", mariadb,
         errc::timeout, false, true},
        {"1969 max_statement_time", operation::fetch, ER_STATEMENT_TIMEOUT, "70100",
         "Query execution was interrupted (max_statement_time exceeded)", mariadb, errc::timeout, false, true},
        {"3024 MySQL max_execution_time", operation::execute, 3024, "HY000",
         "Query execution was interrupted, maximum statement execution time exceeded", mysql8, errc::timeout, false, true},
        {"3024 on MariaDB is ER_UNUSED_1", operation::execute, 3024, "HY000", "You should never see it", mariadb,
         errc::other, false, true},
        // ---- protocol misuse ----------------------------------------------------------------
        {"2014 out of sync", operation::execute, CR_COMMANDS_OUT_OF_SYNC, "HY000",
         "Commands out of sync; you can't run this command now", mariadb, errc::usage, false, false},
        // ---- everything else ----------------------------------------------------------------
        {"1406 data too long", operation::execute, ER_DATA_TOO_LONG, "22001", "Data too long for column 'v' at row 1",
         mariadb, errc::other, false, true},
        {"2008 out of memory", operation::fetch, CR_OUT_OF_MEMORY, "HY000", "Client run out of memory", mariadb,
         errc::other, false, true},
        // GET_LOCK returned NULL (no error number): observed for KILL QUERY during the wait.
        {"GET_LOCK NULL", operation::lock, 0, "",
         "GET_LOCK returned NULL: the wait was interrupted (KILL QUERY) or the server failed to take the lock", mariadb,
         errc::timeout, false, true},
        {"1317 during GET_LOCK", operation::lock, ER_QUERY_INTERRUPTED, "70100", "Query execution was interrupted",
         mariadb, errc::timeout, false, true},
        {"2013 during GET_LOCK", operation::lock, CR_SERVER_LOST, "HY000", "Lost connection to server during query",
         mariadb, errc::disconnected, true, false},
    };
    return rows;
}

}  // namespace

TEST_CASE("mysql classifier maps every error number to its kind", "[mysql][classifier]") {
    for (const row& r : table()) {
        INFO(r.what << " (code " << r.code << ", op " << static_cast<int>(r.op) << ", server '" << r.server << "')");
        const classification c = switchboard::mysql::classify(error_of(r));
        CHECK(c.kind == r.kind);
        CHECK(c.transient == r.transient);
        CHECK(c.connection_usable == r.usable);
    }
}

TEST_CASE("mysql classifier reads flavour-specific numbers by the server string", "[mysql][classifier]") {
    CHECK(switchboard::mysql::is_mariadb("10.11.19-MariaDB"));
    CHECK(switchboard::mysql::is_mariadb("5.5.5-10.11.19-MariaDB-log"));
    CHECK(switchboard::mysql::is_mariadb(""));  // not connected yet: the server this backend is built for
    CHECK_FALSE(switchboard::mysql::is_mariadb("8.0.36"));
    CHECK_FALSE(switchboard::mysql::is_mariadb("8.4.0-commercial"));

    // 1927 and 1969 are MariaDB numbers; 4031 and 3024 MySQL ones.
    native_error e;
    e.code = ER_CONNECTION_KILLED;
    e.server = mysql8;
    CHECK(switchboard::mysql::classify(e).kind == errc::other);
    e.code = 4031;
    e.server = "";
    CHECK(switchboard::mysql::classify(e).kind != errc::disconnected);
}

TEST_CASE("mysql classifier: the read-only message is a fragment anywhere, not a prefix", "[mysql][classifier]") {
    native_error e;
    e.code = ER_OPTION_PREVENTS_STATEMENT;
    e.server = mariadb;
    e.message = "Der MariaDB-Server läuft mit der Option --read-only";  // lc_messages=de_DE keeps the option name
    CHECK(switchboard::mysql::classify(e).kind == errc::read_only);
    e.message = "running with the --read_only option";
    CHECK(switchboard::mysql::classify(e).kind == errc::read_only);
    e.message = "running with the --skip-grant-tables option";
    CHECK(switchboard::mysql::classify(e).kind == errc::other);
}

TEST_CASE("mysql classifier: only client codes mark the connection as gone", "[mysql][classifier]") {
    for (long long code : {CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_SERVER_LOST_EXTENDED, CR_ERR_NET_READ, CR_ERR_NET_WRITE})
        CHECK(switchboard::mysql::is_lost_connection_code(code));
    for (long long code : {0, CR_COMMANDS_OUT_OF_SYNC, CR_CONNECTION_ERROR, ER_CONNECTION_KILLED, 4031, ER_LOCK_WAIT_TIMEOUT})
        CHECK_FALSE(switchboard::mysql::is_lost_connection_code(code));

    // A handle that says it lost the connection is lost, whatever else the number says.
    native_error e;
    e.op = operation::execute;
    e.code = ER_QUERY_INTERRUPTED;
    e.connection_bad = true;
    CHECK(switchboard::mysql::classify(e) == classification::of(errc::disconnected));
}

TEST_CASE("mysql classifier starts from the kind's defaults after connect", "[mysql][classifier]") {
    // Only the connect rule, 2026 / 1045 (never transient) and 2014 (no usable connection)
    // override a flag; everywhere else classification::of(kind) holds.
    for (const row& r : table()) {
        if (r.op == operation::connect || r.code == CR_COMMANDS_OUT_OF_SYNC) continue;
        INFO(r.what);
        const classification c = switchboard::mysql::classify(error_of(r));
        CHECK(c == classification::of(c.kind));
    }
}
