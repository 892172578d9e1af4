// SPDX-License-Identifier: MIT
// The MySQL/MariaDB backend against the real server: streaming with nested statements, types, kills, locks.
#include "support/server_urls.hpp"

#include <catch2/catch.hpp>

#include <switchboard/connection.hpp>
#include <switchboard/database.hpp>
#include <switchboard/result.hpp>
#include <switchboard/transaction.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <thread>

#include <mysql.h>
#include <unistd.h>

using namespace switchboard;
using namespace std::chrono_literals;

// Counting every allocation shows the warm hot path makes none. Sanitizers replace the
// allocator themselves, so the count (and its test) exists only in plain builds.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define SWITCHBOARD_COUNT_ALLOCATIONS 1
static std::atomic<long> g_news{0};
void* operator new(std::size_t n) {
    ++g_news;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

static std::string test_url() { return switchboard::testing::server_url("SWITCHBOARD_TEST_MYSQL_URL"); }
static std::string admin_url() { return switchboard::testing::server_url("SWITCHBOARD_TEST_MYSQL_ADMIN_URL"); }
static const database& db() {
    static database d(test_url());
    return d;
}

static std::string uniq(const char* stem) {
    static int n = 0;
    return std::string("sb_mysql_") + stem + "_" + std::to_string(getpid()) + "_" + std::to_string(++n);
}

TEST_CASE("nested statements while a result streams", "[mysql]") {
    connection c = db().connect();
    const std::string t = uniq("nest");
    c.execute("CREATE TABLE " + t + " (id INT PRIMARY KEY, v VARCHAR(20))");
    for (int i = 1; i <= 50; ++i) c.execute("INSERT INTO " + t + " VALUES (?, ?)", i, "v" + std::to_string(i));
    std::int64_t sum = 0, rows = 0;
    for (const row& outer : c.query("SELECT id, v FROM " + t + " ORDER BY id")) {
        // another statement, the same statement text, a write, a transaction: all mid-stream
        const auto cnt = c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t + " WHERE id <= ?", outer.get<std::int64_t>(0));
        for (const row& inner : c.query("SELECT id, v FROM " + t + " ORDER BY id")) sum += inner.get<std::int64_t>(0);
        CHECK(cnt == outer.get<std::int64_t>(0));
        CHECK(outer.get<std::string>(1) == "v" + std::to_string(outer.get<std::int64_t>(0)));
        ++rows;
    }
    CHECK(rows == 50);
    CHECK(sum == 50 * (50 * 51 / 2));
    {
        result r = c.query("SELECT id FROM " + t + " ORDER BY id");
        REQUIRE(r.next());
        auto tx = c.begin();
        c.execute("UPDATE " + t + " SET v = 'x' WHERE id = ?", 1);
        tx.commit();
        std::int64_t n = 1;
        while (r.next()) ++n;
        CHECK(n == 50);
        CHECK(r.current().get<std::int64_t>(0) == 50);
    }
    {  // a result left half-read, then destroyed while another streams
        result a = c.query("SELECT id FROM " + t + " ORDER BY id");
        REQUIRE(a.next());
        result b = c.query("SELECT v FROM " + t + " ORDER BY id");
        REQUIRE(b.next());
        a = result(std::move(b));  // destroys a's statement run while b's streams (b moved into a)
        std::int64_t n = 1;
        while (a.next()) ++n;
        CHECK(n == 50);
    }
    {  // lock and identity mid-stream
        result r = c.query("SELECT id FROM " + t + " ORDER BY id");
        REQUIRE(r.next());
        { auto l = c.lock(uniq("l"), 0ms); }
        CHECK_FALSE(c.server().version.empty());
        std::int64_t n = 1;
        while (r.next()) ++n;
        CHECK(n == 50);
    }
    c.execute("DROP TABLE " + t);
}

TEST_CASE("column types decode as documented", "[mysql]") {
    connection c = db().connect();
    const std::string t = uniq("types");
    c.execute("CREATE TABLE " + t +
              " (u BIGINT UNSIGNED, i INT UNSIGNED, s SMALLINT, y YEAR, f FLOAT, d DECIMAL(10,2), d0 DECIMAL(30,0),"
              " b1 BIT(1), b9 BIT(9), b64 BIT(64), bo BOOLEAN, dt DATETIME(6), da DATE, ti TIME(3), ts TIMESTAMP NULL,"
              " e ENUM('a','b'), j JSON, vb VARBINARY(10), bi BINARY(3), tx TINYTEXT)");
    c.execute("INSERT INTO " + t +
              " VALUES (18446744073709551615, 4294967295, -5, 2024, 0.5, -12.34, 123456789012345678901234567890,"
              " b'1', b'100000001', b'1111111111111111111111111111111111111111111111111111111111111111', TRUE,"
              " '2024-01-31 12:34:56.123456', '2024-02-29', '-838:59:58.5', '2024-03-01 00:00:00', 'b', '{\"k\": 1}',"
              " x'00FF10', 'ab', 'tiny')");
    c.execute("INSERT INTO " + t + " (u, d0) VALUES (42, 9223372036854775807)");
    result r = c.query("SELECT * FROM " + t + " ORDER BY u DESC");
    REQUIRE(r.next());
    const row& w = r.current();
    CHECK(w.get<std::string>("u") == "18446744073709551615");
    CHECK(w.get<std::int64_t>("i") == 4294967295);
    CHECK(w.get<std::int64_t>("s") == -5);
    CHECK(w.get<std::int64_t>("y") == 2024);
    CHECK(w.get<double>("f") == 0.5);
    CHECK(w.get<std::string>("d") == "-12.34");
    CHECK(w.get<std::string>("d0") == "123456789012345678901234567890");
    CHECK(w.get<std::int64_t>("b1") == 1);
    CHECK(w.get<bool>("b1"));
    CHECK(w.get<std::int64_t>("b9") == 257);
    CHECK(w.get<std::string>("b64") == "18446744073709551615");
    CHECK(w.get<bool>("bo"));
    CHECK(w.get<std::string>("dt") == "2024-01-31 12:34:56.123456");
    CHECK(w.get<std::string>("da") == "2024-02-29");
    WARN("TIME(3) -838:59:58.5 reads as '" << w.get<std::string>("ti") << "'");
    CHECK(w.get<std::string>("ts") == "2024-03-01 00:00:00");
    CHECK(w.get<std::string>("e") == "b");
    WARN("JSON reads as " << to_string(type_of(w.raw("j"))) << " '" << w.get<std::string>("j") << "'");
    CHECK(type_of(w.raw("vb")) == value_type::blob);
    CHECK(w.get<bytes>("vb") == bytes{std::byte{0}, std::byte{0xff}, std::byte{0x10}});
    CHECK(type_of(w.raw("bi")) == value_type::blob);
    CHECK(w.get<std::string>("bi") == std::string("ab\0", 3));
    CHECK(type_of(w.raw("tx")) == value_type::text);
    REQUIRE(r.next());
    CHECK(r.current().get<std::int64_t>("u") == 42);
    CHECK(r.current().get<std::int64_t>("d0") == 9223372036854775807);
    CHECK_FALSE(r.current().get<std::optional<std::int64_t>>("i"));
    CHECK_FALSE(r.next());
    // SUM(int) is DECIMAL with scale 0: an integer. AVG: text.
    CHECK(c.query_value<std::int64_t>("SELECT SUM(s) FROM " + t) == -5);
    CHECK(c.query_value<std::string>("SELECT AVG(s) FROM " + t) == "-5.0000");
    // SELECT ? follows the parameter's type from run to run.
    CHECK(c.query_value<std::int64_t>("SELECT ?", 7) == 7);
    CHECK(c.query_value<std::string>("SELECT ?", "seven") == "seven");
    CHECK(c.query_value<double>("SELECT ?", 7.5) == 7.5);
    CHECK(c.query_value<std::int64_t>("SELECT ?", 8) == 8);
    CHECK_FALSE(c.query_value<std::optional<std::int64_t>>("SELECT ?", null));
    c.execute("DROP TABLE " + t);
}

TEST_CASE("long values grow the buffers; rows after them still read", "[mysql]") {
    connection c = db().connect();
    const std::string t = uniq("long");
    c.execute("CREATE TABLE " + t + " (id INT, v LONGTEXT, b LONGBLOB)");
    const std::string big(3 << 20, 'q'), mid(5000, 'm');
    c.execute("INSERT INTO " + t + " VALUES (1, ?, ?)", "short", bytes(10, std::byte{1}));
    c.execute("INSERT INTO " + t + " VALUES (2, ?, ?)", mid, bytes(5000, std::byte{2}));
    c.execute("INSERT INTO " + t + " VALUES (3, ?, ?)", big, bytes(2 << 20, std::byte{3}));
    c.execute("INSERT INTO " + t + " VALUES (4, ?, ?)", "tail", bytes(1, std::byte{4}));
    for (int round = 0; round < 3; ++round) {
        result r = c.query("SELECT id, v, b FROM " + t + " ORDER BY id");
        REQUIRE(r.next());
        CHECK(r.current().get<std::string>(1) == "short");
        REQUIRE(r.next());
        CHECK(r.current().get<std::string>(1) == mid);
        CHECK(r.current().get<bytes>(2).size() == 5000);
        REQUIRE(r.next());
        CHECK(r.current().get<std::string_view>(1) == big);
        CHECK(r.current().get<bytes_view>(2).size == (2u << 20));
        REQUIRE(r.next());
        CHECK(r.current().get<std::string>(1) == "tail");
        CHECK_FALSE(r.next());
    }
    c.execute("DROP TABLE " + t);
}

TEST_CASE("a table that changes its columns under a cached statement", "[mysql]") {
    connection c = db().connect();
    const std::string t = uniq("alter");
    c.execute("CREATE TABLE " + t + " (a INT)");
    c.execute("INSERT INTO " + t + " VALUES (1)");
    CHECK(c.query("SELECT * FROM " + t).column_count() == 1);
    { connection o = db().connect(); o.execute("ALTER TABLE " + t + " ADD COLUMN b VARCHAR(5) DEFAULT 'x'"); }
    int runs = 0, failures = 0;
    for (int i = 0; i < 3; ++i) {
        try {
            result r = c.query("SELECT * FROM " + t);
            ++runs;
            REQUIRE(r.next());
            CHECK(r.column_count() == 2);
            CHECK(r.current().get<std::string>(1) == "x");
        } catch (const error& e) {
            ++failures;
            WARN("after ALTER: " << to_string(e.kind()) << " " << e.native_code() << " " << e.what());
        }
    }
    CHECK(failures <= 1);
    CHECK(c.state() == connection_state::idle);
    // a column changing type under the cached statement
    c.execute("INSERT INTO " + t + " VALUES (2, 'y')");
    CHECK(c.query_value<std::int64_t>("SELECT a FROM " + t + " WHERE a = ?", 2) == 2);
    { connection o = db().connect(); o.execute("ALTER TABLE " + t + " MODIFY a VARCHAR(10)"); }
    CHECK(c.query_value<std::string>("SELECT a FROM " + t + " WHERE a = ?", 2) == "2");
    c.execute("DROP TABLE " + t);
}

TEST_CASE("stored procedure results drain", "[mysql]") {
    connection c = db().connect();
    const std::string p = uniq("proc");
    c.execute("CREATE PROCEDURE " + p + "(IN x INT) BEGIN SELECT x AS a; SELECT x + 1 AS b; END");
    for (int i = 0; i < 2; ++i) {
        result r = c.query("CALL " + p + "(?)", 5);
        REQUIRE(r.next());
        CHECK(r.current().get<std::int64_t>(0) == 5);
    }
    CHECK(c.query_value<std::int64_t>("SELECT ?", 3) == 3);
    c.execute("DROP PROCEDURE " + p);
}

TEST_CASE("connect failures are classified and never show the password", "[mysql]") {
    try {
        database d("mysql://switchboard:Wr0ngSecretPw@127.0.0.1:33060/switchboard");
        (void)d.connect();
        FAIL("connected");
    } catch (const error& e) {
        WARN("wrong password: " << to_string(e.kind()) << " transient=" << e.is_transient() << " " << e.native_code() << " " << e.what());
        CHECK(e.kind() == errc::connect_failed);
        CHECK_FALSE(e.is_transient());
        CHECK(std::string(e.what()).find("Wr0ngSecretPw") == std::string::npos);
    }
    try {
        database d("mysql://switchboard:pw@127.0.0.1:1/switchboard?connect_timeout=2");
        (void)d.connect();
        FAIL("connected");
    } catch (const error& e) {
        WARN("refused: " << to_string(e.kind()) << " " << e.native_code() << " " << e.what());
        CHECK(e.kind() == errc::connect_failed);
        CHECK(e.is_transient());
    }
    try {
        database d("mysql://switchboard:sb-test-pw@127.0.0.1:33060/no_such_db");
        (void)d.connect();
        FAIL("connected");
    } catch (const error& e) {
        WARN("unknown db: " << to_string(e.kind()) << " " << e.native_code() << " " << e.what());
        CHECK(e.kind() == errc::connect_failed);
    }
}

TEST_CASE("a killed connection is disconnected; rollback makes no round trip", "[mysql]") {
    connection c = db().connect();
    const auto id = c.query_value<std::int64_t>("SELECT CONNECTION_ID()");
    auto tx = c.begin();
    c.execute("SELECT 1");
    { connection k = db().connect(); k.execute("KILL ?", id); }
    std::this_thread::sleep_for(100ms);
    try {
        c.execute("SELECT 2");
        FAIL("still alive");
    } catch (const error& e) {
        WARN("after KILL: " << to_string(e.kind()) << " " << e.native_code() << " " << e.what());
        CHECK(e.kind() == errc::disconnected);
    }
    CHECK(c.state() == connection_state::doomed);
    tx.rollback();
    CHECK(c.state() == connection_state::closed);
    auto tx2 = c.begin();  // reconnects
    CHECK(c.query_value<std::int64_t>("SELECT 1") == 1);
    tx2.commit();
}

TEST_CASE("KILL QUERY of a lock wait is a timeout; the connection goes on", "[mysql]") {
    connection a = db().connect();
    connection b = db().connect();
    const std::string name = uniq("lk");
    auto held = a.lock(name, 0ms);
    const auto id = b.query_value<std::int64_t>("SELECT CONNECTION_ID()");
    std::thread killer([&] {
        std::this_thread::sleep_for(300ms);
        connection k = db().connect();
        k.execute("KILL QUERY ?", id);
    });
    try {
        (void)b.lock(name, 5000ms);
        FAIL("got the lock");
    } catch (const error& e) {
        WARN("KILL QUERY during GET_LOCK: " << to_string(e.kind()) << " " << e.native_code() << " " << e.what());
    }
    killer.join();
    CHECK(b.query_value<std::int64_t>("SELECT 1") == 1);
}

TEST_CASE("lock wait timeout leaves the transaction open; deadlock", "[mysql]") {
    connection a = db().connect();
    connection b = db().connect();
    const std::string t = uniq("lw");
    a.execute("CREATE TABLE " + t + " (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
    a.execute("INSERT INTO " + t + " VALUES (1, 0), (2, 0)");
    b.execute("SET SESSION innodb_lock_wait_timeout = 1");
    auto ta = a.begin();
    a.execute("UPDATE " + t + " SET v = 1 WHERE id = 1");
    auto tb = b.begin();
    b.execute("UPDATE " + t + " SET v = 2 WHERE id = 2");
    try {
        b.execute("UPDATE " + t + " SET v = 2 WHERE id = 1");
        FAIL("no wait");
    } catch (const error& e) {
        CHECK(e.kind() == errc::lock_timeout);
        CHECK(e.is_transient());
        CHECK(b.in_transaction());
    }
    tb.rollback();
    ta.rollback();
    a.execute("DROP TABLE " + t);
}

#ifdef SWITCHBOARD_COUNT_ALLOCATIONS
TEST_CASE("the hot path allocates nothing once warm", "[mysql]") {
    connection c = db().connect();
    const std::string t = uniq("alloc");
    c.execute("CREATE TABLE " + t + " (id BIGINT PRIMARY KEY, n BIGINT, v VARCHAR(64))");
    for (int i = 1; i <= 10; ++i) c.execute("INSERT INTO " + t + " VALUES (?, ?, ?)", i, i * 3, "value-" + std::to_string(i));
    const std::string q = "SELECT n, v FROM " + t + " WHERE id = ?";
    const std::string u = "UPDATE " + t + " SET n = ? WHERE id = ?";
    std::size_t sink = 0;
    for (int i = 1; i <= 10; ++i) {
        result r = c.query(q, i);
        r.next();
        sink += r.current().get<std::string_view>(1).size();
        c.execute(u, i, i);
    }
    const long before = g_news;
    for (int i = 1; i <= 1000; ++i) {
        result r = c.query(q, (i % 10) + 1);
        REQUIRE(r.next());
        sink += static_cast<std::size_t>(r.current().get<std::int64_t>(0)) + r.current().get<std::string_view>(1).size();
        c.execute(u, i, (i % 10) + 1);
    }
    CHECK(g_news - before == 0);
    CHECK(sink > 0);
    c.execute("DROP TABLE " + t);
}
#endif

TEST_CASE("text parameters are copied by mysql_stmt_execute", "[mysql]") {
    connection c = db().connect();
    std::string s = "original";
    result r = c.query("SELECT ?", s);
    s.assign("SCRIBBLE");
    REQUIRE(r.next());
    CHECK(r.current().get<std::string>(0) == "original");
}

TEST_CASE("affected rows are changed rows", "[mysql]") {
    connection c = db().connect();
    const std::string t = uniq("aff");
    c.execute("CREATE TABLE " + t + " (id INT PRIMARY KEY, v INT)");
    c.execute("INSERT INTO " + t + " VALUES (1, 1), (2, 2)");
    CHECK(c.execute("UPDATE " + t + " SET v = 1").affected_rows == 1);  // row 1 unchanged
    const command_result ins = c.execute("INSERT INTO " + t + " VALUES (3, 3)");
    CHECK_FALSE(ins.last_insert_id);  // no AUTO_INCREMENT column
    c.execute("DROP TABLE " + t);
}

TEST_CASE("interleaved results: a buffered one read to its end while another streams", "[mysql]") {
    connection c = db().connect();
    const std::string t = uniq("inter");
    c.execute("CREATE TABLE " + t + " (id INT PRIMARY KEY)");
    for (int i = 1; i <= 20; ++i) c.execute("INSERT INTO " + t + " VALUES (?)", i);
    for (int round = 0; round < 3; ++round) {
        result a = c.query("SELECT id FROM " + t + " ORDER BY id");
        REQUIRE(a.next());
        result b = c.query("SELECT id FROM " + t + " ORDER BY id DESC");  // buffers a
        REQUIRE(b.next());
        std::int64_t na = 1, nb = 1;
        while (a.next()) ++na;  // a ends (buffered) while b streams
        CHECK(na == 20);
        a = result(std::move(b));  // old a released while b streams; b continues as a
        while (a.next()) ++nb;
        CHECK(nb == 20);
        CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 20);
    }
    {  // the streaming result at its last row, nothing left but the end: then nested
        result a = c.query("SELECT id FROM " + t + " WHERE id = ?", 5);
        REQUIRE(a.next());
        CHECK(c.query_value<std::int64_t>("SELECT ?", 1) == 1);
        CHECK(a.current().get<std::int64_t>(0) == 5);
        CHECK_FALSE(a.next());
    }
    CHECK(c.query_value<std::int64_t>("SELECT id FROM " + t + " WHERE id = ?", 5) == 5);
    c.execute("DROP TABLE " + t);
}

TEST_CASE("a CALL result interrupted by another statement says so", "[mysql]") {
    connection c = db().connect();
    const std::string p = uniq("proc2");
    c.execute("CREATE PROCEDURE " + p + "() BEGIN SELECT 1 AS a UNION ALL SELECT 2; SELECT 3 AS b; END");
    {
        result r = c.query("CALL " + p + "()");
        REQUIRE(r.next());
        CHECK(c.query_value<std::int64_t>("SELECT ?", 9) == 9);
        try {
            r.next();
            FAIL("no error");
        } catch (const usage_error& e) {
            WARN(e.what());
        }
    }
    {
        result r = c.query("CALL " + p + "()");
        std::int64_t n = 0;
        while (r.next()) ++n;
        CHECK(n == 2);
        CHECK(c.query_value<std::int64_t>("SELECT ?", 9) == 9);  // the rest drains
    }
    CHECK(c.query_value<std::int64_t>("SELECT ?", 4) == 4);
    c.execute("DROP PROCEDURE " + p);
}
