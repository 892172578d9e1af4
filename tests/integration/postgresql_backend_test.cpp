// SPDX-License-Identifier: MIT
// PostgreSQL backend behaviours beyond the conformance suite, through the public API against the test server:
// transactions the server ended, re-preparing statements, parameter types.
#include "support/caught.hpp"
#include "support/server_urls.hpp"

#include <switchboard/connection.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace switchboard;
using switchboard::testing::server_url;
using switchboard::testing::caught;

namespace {

std::string pg_url() { return server_url("SWITCHBOARD_TEST_PG_URL"); }

// The test URL with one more query option.
std::string pg_url_with(std::string_view option) {
    std::string u = pg_url();
    u += u.find('?') == std::string::npos ? '?' : '&';
    u += option;
    return u;
}

std::string unique_table() {
    static const unsigned seed = std::random_device{}();
    static int n = 0;
    return "sb_pgtest_" + std::to_string(seed % 1000000) + "_" + std::to_string(++n);
}

// A table dropped when the test ends, whatever happened (from a connection of its own).
struct scratch_table {
    std::string name = unique_table();
    ~scratch_table() {
        try {
            connection c = database(pg_url()).connect();
            c.execute("DROP TABLE IF EXISTS " + name);
        } catch (...) {  // best effort
        }
    }
};

}  // namespace

// ---- transactions the server ended --------------------------------------------------------

TEST_CASE("a COMMIT refused by a deferred constraint ends the transaction: core refuses the rest until rollback()",
          "[postgresql][transactions]") {
    const database db(pg_url());
    connection c = db.connect();
    connection other = db.connect();
    scratch_table t;
    c.execute("CREATE TABLE " + t.name + " (id BIGINT, CONSTRAINT " + t.name +
              "_u UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)");

    transaction tx = c.begin();
    c.execute("INSERT INTO " + t.name + " (id) VALUES (?)", 1);
    c.execute("INSERT INTO " + t.name + " (id) VALUES (?)", 1);  // checked at COMMIT only
    const error e = caught([&] { tx.commit(); });
    CHECK(e.kind() == errc::integrity);
    CHECK(e.sqlstate() == "23505");
    CHECK(e.connection_usable());

    // The server holds no transaction any more: a statement now would autocommit on its own,
    // outside the transaction the program believes in. Core refuses it.
    CHECK(c.in_transaction());
    CHECK_THROWS_AS(c.execute("INSERT INTO " + t.name + " (id) VALUES (?)", 2), usage_error);
    CHECK(other.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t.name) == 0);

    tx.rollback();
    CHECK_FALSE(c.in_transaction());
    CHECK(other.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t.name) == 0);
    // The connection goes on.
    c.execute("INSERT INTO " + t.name + " (id) VALUES (?)", 3);
    CHECK(other.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t.name) == 1);
    transaction again = c.begin();
    c.execute("INSERT INTO " + t.name + " (id) VALUES (?)", 4);
    again.commit();
    CHECK(other.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t.name) == 2);
}

TEST_CASE("a COMMIT answered with ROLLBACK ends the transaction: later writes neither autocommit nor survive",
          "[postgresql][transactions]") {
    const database db(pg_url());
    connection c = db.connect();
    connection other = db.connect();
    scratch_table t;
    c.execute("CREATE TABLE " + t.name + " (id BIGINT PRIMARY KEY)");

    transaction tx = c.begin();
    c.execute("INSERT INTO " + t.name + " (id) VALUES (?)", 1);
    CHECK(caught([&] { c.execute("INSERT INTO " + t.name + " (id) VALUES (?)", 1); }).kind() == errc::integrity);
    // PostgreSQL answers this COMMIT with the tag ROLLBACK.
    const error e = caught([&] { tx.commit(); });
    CHECK(e.kind() == errc::usage);
    CHECK(e.sqlstate() == "25P02");

    CHECK_THROWS_AS(c.execute("INSERT INTO " + t.name + " (id) VALUES (?)", 2), usage_error);
    CHECK(other.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t.name) == 0);
    tx.rollback();
    CHECK(other.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t.name) == 0);
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t.name) == 0);
}

// ---- re-preparing -------------------------------------------------------------------------

TEST_CASE("a stale statement whose re-PREPARE failed recovers once its table is back", "[postgresql][statements]") {
    connection c = database(pg_url()).connect();
    scratch_table t;
    c.execute("CREATE TABLE " + t.name + " (a BIGINT)");
    c.execute("INSERT INTO " + t.name + " (a) VALUES (?)", 1);
    for (const std::string q : {"SELECT * FROM " + t.name + " WHERE a >= ?", "SELECT * FROM " + t.name}) {
        INFO(q);
        const bool with_parameter = q.find('?') != std::string::npos;
        const auto run = [&] { return with_parameter ? c.query(q, 0) : c.query(q); };
        {
            result r = run();
            REQUIRE(r.next());
            CHECK(r.current().get<std::int64_t>(0) == 1);
        }
        c.execute("ALTER TABLE " + t.name + " ADD COLUMN b" + (with_parameter ? "1" : "2") + " BIGINT");
        {
            // Inside a transaction the server's "cached plan must not change result type" is
            // reported; the statement is prepared again before its next run.
            transaction tx = c.begin();
            CHECK_THROWS_AS(run(), error);
            tx.rollback();
        }
        c.execute("DROP TABLE " + t.name);
        // The re-PREPARE fails: no such table.
        CHECK(caught([&] { (void)run(); }).kind() == errc::syntax);
        c.execute("CREATE TABLE " + t.name + " (a BIGINT, b BIGINT, c BIGINT)");
        c.execute("INSERT INTO " + t.name + " (a, b, c) VALUES (?, ?, ?)", 1, 2, 3);
        result r = run();
        REQUIRE(r.next());
        CHECK(r.column_count() == 3);
        CHECK(r.current().get<std::int64_t>(0) == 1);
        CHECK(r.current().get<std::int64_t>(2) == 3);
        CHECK_FALSE(r.next());
    }
}

TEST_CASE("one retired statement already gone does not leak the others", "[postgresql][statements]") {
    // A cache of one: every new statement text evicts (retires) the previous one.
    connection c = database(pg_url_with("sb.statement_cache=1")).connect();
    transaction tx = c.begin();  // retired statements are DEALLOCATEd outside transactions only
    for (int i = 1; i <= 4; ++i) c.query_value<std::int64_t>("SELECT " + std::to_string(100 + i));
    const std::string first =
        c.query_value<std::string>("SELECT name FROM pg_prepared_statements WHERE statement = 'SELECT 101'");
    // Gone by hand, so that the first DEALLOCATE of the batch fails (26000).
    c.execute("DEALLOCATE " + first);
    tx.commit();
    c.query_value<std::int64_t>("SELECT 105");  // prepared outside a transaction: the batch goes out
    // Left: this count and at most the one statement it evicted.
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM pg_prepared_statements") <= 2);
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT 10_'") <= 1);
}

// ---- parameter types ----------------------------------------------------------------------

TEST_CASE("parameters are declared by their C++ type: int8, float8, bool, bytea; text left to the server",
          "[postgresql][types]") {
    connection c = database(pg_url()).connect();
    constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
    CHECK(c.query_value<std::int64_t>("SELECT ?", big) == big);
    CHECK(c.query_value<std::int64_t>("SELECT ?", std::numeric_limits<std::int64_t>::min()) ==
          std::numeric_limits<std::int64_t>::min());
    CHECK(c.query_value<std::int64_t>("SELECT ? + 1", 41) == 42);
    CHECK(c.query_value<std::string>("SELECT pg_typeof(?)::text", 1) == "bigint");
    CHECK(c.query_value<std::string>("SELECT pg_typeof(?)::text", 1.5) == "double precision");
    CHECK(c.query_value<std::string>("SELECT pg_typeof(?)::text", true) == "boolean");
    CHECK(c.query_value<std::string>("SELECT pg_typeof(?)::text", bytes{std::byte{1}}) == "bytea");

    {
        result r = c.query("SELECT ?", 0.25);
        REQUIRE(r.next());
        CHECK(type_of(r.current().raw(0)) == value_type::float64);
        CHECK(r.current().get<double>(0) == 0.25);
    }
    CHECK(c.query_value<bool>("SELECT ?", true));
    CHECK(c.query_value<bytes>("SELECT ?", bytes{std::byte{0}, std::byte{255}}) == bytes{std::byte{0}, std::byte{255}});
    CHECK(c.query_value<std::string>("SELECT ?", "text") == "text");

    scratch_table t;
    c.execute("CREATE TABLE " + t.name + " (id INTEGER, d DATE, ts TIMESTAMP, n NUMERIC, small SMALLINT)");
    // Text stays flexible: the server reads it as the column's type.
    c.execute("INSERT INTO " + t.name + " (id, d, ts, n) VALUES (?, ?, ?, ?)", 1, "2024-01-01",
              "2024-01-01 12:30:00", "12.50");
    CHECK(c.query_value<std::string>("SELECT d FROM " + t.name + " WHERE id = ?", 1) == "2024-01-01");
    CHECK(c.query_value<std::int64_t>("SELECT id FROM " + t.name + " WHERE d = ?", "2024-01-01") == 1);
    CHECK(c.query_value<std::int64_t>("SELECT id FROM " + t.name + " WHERE ts < ?", "2025-01-01") == 1);
    CHECK(c.query_value<std::string>("SELECT n FROM " + t.name + " WHERE n = ?", "12.5") == "12.50");
    // An int8 value beyond int4's range compared with an int4 column: no row, not 22003.
    {
        result r = c.query("SELECT id FROM " + t.name + " WHERE id = ?", std::int64_t{5'000'000'000});
        CHECK_FALSE(r.next());
    }
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t.name + " WHERE id < ?", std::int64_t{5'000'000'000}) == 1);
    // Into a narrower column, the value is checked there (assignment cast int8 -> int2).
    c.execute("UPDATE " + t.name + " SET small = ? WHERE id = ?", 7, 1);
    CHECK(c.query_value<std::int64_t>("SELECT small FROM " + t.name + " WHERE id = ?", 1) == 7);
    CHECK(caught([&] { c.execute("UPDATE " + t.name + " SET small = ? WHERE id = ?", 70000, 1); }).sqlstate() ==
          "22003");
    // A double into NUMERIC, an integer into a double expression.
    c.execute("UPDATE " + t.name + " SET n = ? WHERE id = ?", 2.5, 1);
    CHECK(c.query_value<std::string>("SELECT n FROM " + t.name + " WHERE id = ?", 1) == "2.5");
    CHECK(c.query_value<double>("SELECT ? / 4.0::float8", 2) == 0.5);
}

TEST_CASE("a statement re-bound with values of other types is prepared again; NULL fits any", "[postgresql][types]") {
    connection c = database(pg_url()).connect();
    const std::string q = "SELECT ?";
    CHECK(c.query_value<std::optional<std::string>>(q, null) == std::nullopt);  // first PREPARE: unknown, text
    CHECK(c.query_value<std::string>(q, "abc") == "abc");
    CHECK(c.query_value<std::int64_t>(q, 7) == 7);  // int8 now
    CHECK(c.query_value<std::optional<std::int64_t>>(q, null) == std::nullopt);  // NULL fits int8
    CHECK(c.query_value<std::int64_t>(q, 8) == 8);
    CHECK(c.query_value<double>(q, 1.5) == 1.5);
    CHECK(c.query_value<std::string>(q, "back to text") == "back to text");
    CHECK(c.query_value<bool>(q, false) == false);

    // Inside a transaction too, several times over, and the same statement keeps its rows right.
    transaction tx = c.begin();
    for (int i = 0; i < 3; ++i) {
        CHECK(c.query_value<std::int64_t>("SELECT ? + ?", i, 1) == i + 1);
        CHECK(c.query_value<double>("SELECT ? + ?", 0.5, i) == i + 0.5);
    }
    tx.commit();
    // Retired statements do not pile up on the server.
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM pg_prepared_statements") <= 4);
}

TEST_CASE("an untyped statement with parameters reports its errors at the first run and recovers",
          "[postgresql][statements]") {
    connection c = database(pg_url()).connect();
    scratch_table t;
    const std::string q = "SELECT COUNT(*) FROM " + t.name + " WHERE id = ?";
    CHECK(caught([&] { (void)c.query_value<std::int64_t>(q, 1); }).kind() == errc::syntax);  // no table yet
    c.execute("CREATE TABLE " + t.name + " (id BIGINT)");
    CHECK(c.query_value<std::int64_t>(q, 1) == 0);
    CHECK(caught([&] { (void)c.query_value<std::int64_t>("SELECT nosuchfunction(?)", 1); }).kind() == errc::syntax);
}
