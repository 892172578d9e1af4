// SPDX-License-Identifier: MIT
// Core's connection semantics against the scripted fake backend: cache, doom, reconnect, errors.
#include "support/caught.hpp"
#include "support/fake_backend.hpp"

#include <switchboard/connection.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace switchboard;
using switchboard::testing::fake_code;
using switchboard::testing::script;
using switchboard::testing::caught;
using switchboard::testing::fake_database;

TEST_CASE("a statement is prepared once and then served from the cache", "[connection][cache]") {
    auto db = fake_database();
    connection c = db.connect();
    for (int i = 0; i < 5; ++i) c.execute("UPDATE t SET a = ? WHERE id = ?", i, 1);
    c.execute("DELETE FROM t");
    CHECK(script().prepares == 2);
    CHECK(script().executes == 6);
}

TEST_CASE("the statement cache evicts the least recently used statement at its bound", "[connection][cache]") {
    auto db = fake_database("fake://host/main?sb.statement_cache=2");
    connection c = db.connect();
    c.execute("A");
    c.execute("B");
    c.execute("A");  // A is now more recent than B
    c.execute("C");  // evicts B
    CHECK(script().prepares == 3);
    CHECK(script().live_statements == 2);
    c.execute("A");
    CHECK(script().prepares == 3);
    c.execute("B");
    CHECK(script().prepares == 4);
}

TEST_CASE("a statement still being read gets a second copy for a nested run", "[connection][cache]") {
    auto db = fake_database();
    script().rows["SELECT v FROM t"] = {{std::int64_t{1}}, {std::int64_t{2}}};
    script().columns["SELECT v FROM t"] = {"v"};
    connection c = db.connect();
    std::int64_t sum = 0;
    for (const row& outer : c.query("SELECT v FROM t"))
        for (const row& inner : c.query("SELECT v FROM t")) sum += outer.get<std::int64_t>(0) * inner.get<std::int64_t>(0);
    CHECK(sum == 9);
    CHECK(script().prepares == 3);         // one cached, two uncached copies for the inner runs
    CHECK(script().live_statements == 1);  // the uncached copies are gone
}

TEST_CASE("a wrong parameter count is a usage error before anything is sent", "[connection][usage]") {
    auto db = fake_database();
    connection c = db.connect();
    error e = caught([&] { c.execute("UPDATE t SET a = ? WHERE id = ?", 1); });
    CHECK(e.kind() == errc::usage);
    CHECK(e.connection_usable());
    CHECK(std::string(e.what()).find("takes 2 parameter(s), 1 given") != std::string::npos);
    CHECK(script().executes == 0);
    c.execute("UPDATE t SET a = ? WHERE id = ?", 1, 2);
    CHECK(script().executes == 1);
}

TEST_CASE("an unsigned value beyond int64 is refused", "[connection][usage]") {
    auto db = fake_database();
    connection c = db.connect();
    CHECK_THROWS_AS(c.execute("SELECT ?", std::uint64_t{1} << 63), usage_error);
    c.execute("SELECT ?", std::uint64_t{(1ull << 63) - 1});
}

TEST_CASE("a disconnection inside a transaction dooms it until rollback", "[connection][doom]") {
    auto db = fake_database();
    connection c = db.connect();
    {
        auto tx = c.begin();
        c.execute("INSERT 1");
        script().fail_execute = testing::fake_disconnect;
        error e = caught([&] { c.execute("INSERT 2"); });
        CHECK(e.kind() == errc::disconnected);
        CHECK_FALSE(e.connection_usable());
        CHECK(e.is_transient());
        CHECK(e.statement() == "INSERT 2");
        CHECK(c.state() == connection_state::doomed);
        CHECK(script().live_connections == 0);  // dropped at once, not at rollback

        // Every later call fails the same way, and nothing reaches the backend.
        const int executes = script().executes;
        CHECK(caught([&] { c.execute("INSERT 3"); }).kind() == errc::disconnected);
        CHECK(caught([&] { c.commit(); }).kind() == errc::disconnected);
        CHECK(caught([&] { c.begin(); }).kind() == errc::disconnected);
        CHECK(script().executes == executes);

        tx.rollback();  // succeeds locally
        CHECK(c.state() == connection_state::closed);
    }
    // A closed-by-failure connection refuses statements until begin() reconnects.
    CHECK(caught([&] { c.execute("SELECT 1"); }).kind() == errc::disconnected);
    CHECK(script().connects == 1);
    auto tx = c.begin();
    CHECK(script().connects == 2);
    c.execute("INSERT 4");
    tx.commit();
    CHECK(c.state() == connection_state::idle);
    // Nothing was re-sent behind the caller's back.
    CHECK(script().executed == std::vector<std::string>{"INSERT 1", "INSERT 2", "INSERT 4"});
}

TEST_CASE("a doomed transaction is rolled back by the transaction's destructor", "[connection][doom]") {
    auto db = fake_database();
    connection c = db.connect();
    {
        auto tx = c.begin();
        script().fail_execute = testing::fake_disconnect;
        CHECK_THROWS_AS(c.execute("INSERT 1"), connection_error);
    }
    CHECK(c.state() == connection_state::closed);
}

TEST_CASE("a disconnection during COMMIT is commit_outcome_unknown", "[connection][doom]") {
    auto db = fake_database();
    connection c = db.connect();
    auto tx = c.begin();
    c.execute("INSERT 1");
    script().fail_commit = testing::fake_disconnect;
    error e = caught([&] { tx.commit(); });
    CHECK(e.kind() == errc::commit_outcome_unknown);
    CHECK_FALSE(e.is_transient());
    CHECK(c.state() == connection_state::doomed);
    tx.rollback();
    CHECK(c.state() == connection_state::closed);
}

TEST_CASE("a disconnection outside a transaction closes the connection", "[connection][doom]") {
    auto db = fake_database();
    connection c = db.connect();
    script().fail_execute = testing::fake_disconnect;
    CHECK(caught([&] { c.execute("SELECT 1"); }).kind() == errc::disconnected);
    CHECK(c.state() == connection_state::closed);
}

TEST_CASE("a write lost outside a transaction is commit_outcome_unknown; a lost read is disconnected",
          "[connection][doom]") {
    auto db = fake_database();
    connection c = db.connect();
    // A write whose result is open, one row read (the rest not yet read).
    const std::string returning = "INSERT INTO x VALUES (1) RETURNING id";
    const auto open_write = [&](std::vector<std::vector<testing::fake_value>> rows) {
        script().columns[returning] = {"id"};
        script().rows[returning] = std::move(rows);
        result r = c.query(returning);
        REQUIRE(r.next());
        return r;
    };
    const std::vector<std::vector<testing::fake_value>> two_rows = {{std::int64_t{1}}, {std::int64_t{2}}};
    for (const char* write : {"UPDATE x SET v = 1", "  insert into x values (1)", "WITH d AS (DELETE FROM x) SELECT 1",
                              "EXPLAIN ANALYZE UPDATE x SET v = 1", "CALL p()", "SELECT * INTO copy FROM x",
                              "select a into outfile '/tmp/x' from x", "DESC ANALYZE UPDATE x SET v = 1",
                              "EXPLAIN (ANALYZE) DELETE FROM x"}) {
        script().fail_execute = testing::fake_disconnect;
        error e = caught([&] { c.execute(write); });
        INFO(write);
        CHECK(e.kind() == errc::commit_outcome_unknown);
        CHECK_FALSE(e.is_transient());
        CHECK(c.state() == connection_state::closed);
        c.begin().commit();  // reconnects
    }
    for (const char* read : {"SELECT 1", "/* why */ select 1", "SHOW TABLES", "EXPLAIN SELECT 1", "VALUES (1)",
                             "SELECT 'into' AS \"into\" -- into\nFROM x", "DESC x", "SELECT intox FROM x"}) {
        script().fail_execute = testing::fake_disconnect;
        INFO(read);
        CHECK(caught([&] { c.execute(read); }).kind() == errc::disconnected);
        c.begin().commit();
    }
    SECTION("a write that never reached the server") {
        script().fail_execute = testing::fake_disconnect;
        script().not_sent_on_failure = true;
        CHECK(caught([&] { c.execute("UPDATE x SET v = 1"); }).kind() == errc::disconnected);
    }
    SECTION("a read or BEGIN lost while reading the rest of a write's open result (MySQL making way)") {
        result open = open_write(two_rows);
        script().fail_execute = testing::fake_disconnect;
        script().in_other_result_on_failure = true;
        script().not_sent_on_failure = true;
        CHECK(caught([&] { c.execute("SELECT 1"); }).kind() == errc::commit_outcome_unknown);
        // and the open result's own reader hears the same, naming its statement
        error own = caught([&] { (void)open.next(); });
        CHECK(own.kind() == errc::commit_outcome_unknown);
        CHECK(own.statement() == returning);
        // begin() does not reconnect that away
        c.begin().commit();  // (the connection was closed: this reconnects, a fresh start)
        result again = c.query(returning);
        REQUIRE(again.next());
        const int connects = script().connects;
        script().fail_begin = testing::fake_disconnect;
        script().in_other_result_on_failure = true;
        script().not_sent_on_failure = true;
        CHECK(caught([&] { (void)c.begin(); }).kind() == errc::commit_outcome_unknown);
        CHECK(script().connects == connects);
    }
    SECTION("the same write run again while its previous result is open, lost while making way") {
        result first = open_write(two_rows);
        script().fail_execute = testing::fake_disconnect;
        script().in_other_result_on_failure = true;
        script().not_sent_on_failure = true;
        CHECK(caught([&] { (void)c.query(returning); }).kind() ==
              errc::commit_outcome_unknown);
    }
    SECTION("a lost read while a write's result is open: the read is disconnected, the write's reader unknown") {
        result open = open_write(two_rows);
        script().fail_execute = testing::fake_disconnect;
        CHECK(caught([&] { c.execute("SELECT 1"); }).kind() == errc::disconnected);  // the read itself
        // The write's end (its commit, or its error) can no longer be read.
        CHECK(caught([&] { (void)open.next(); }).kind() == errc::commit_outcome_unknown);
    }
    SECTION("a write's result opened inside a transaction, lost later outside it: known, not unknown") {
        auto tx = c.begin();
        result open = open_write(two_rows);
        tx.rollback();
        script().fail_execute = testing::fake_disconnect;
        script().in_other_result_on_failure = true;
        script().not_sent_on_failure = true;
        CHECK(caught([&] { c.execute("SELECT 1"); }).kind() == errc::disconnected);
    }
    SECTION("a lost BEGIN with a finished or buffered write result still in scope reconnects as usual") {
        result done = open_write({{std::int64_t{1}}});
        while (done.next()) {
        }
        script().fail_begin = testing::fake_disconnect;  // a server restart, noticed at BEGIN
        auto tx = c.begin();
        CHECK(c.state() == connection_state::in_transaction);
    }
    SECTION("a probe of the connection (ping, server identity)") {
        script().fail_ping = testing::fake_disconnect;
        CHECK(caught([&] { c.ping(); }).kind() == errc::disconnected);
    }
    SECTION("inside a transaction nothing committed by itself: disconnected, and COMMIT decides") {
        auto tx = c.begin();
        script().fail_execute = testing::fake_disconnect;
        CHECK(caught([&] { c.execute("UPDATE x SET v = 1"); }).kind() == errc::disconnected);
    }
}

TEST_CASE("a transient statement error keeps the connection and the transaction", "[connection]") {
    auto db = fake_database();
    connection c = db.connect();
    auto tx = c.begin();
    script().fail_execute = testing::fake_serialization;
    error e = caught([&] { c.execute("UPDATE x"); });
    CHECK(e.kind() == errc::serialization);
    CHECK(e.is_transient());
    script().fail_execute = testing::fake_serialization;
    CHECK_THROWS_AS(c.execute("UPDATE x"), transaction_error);
    CHECK(c.state() == connection_state::in_transaction);
    tx.rollback();
    CHECK(c.state() == connection_state::idle);
    CHECK(script().rollbacks == 1);
    CHECK(script().connects == 1);
}

TEST_CASE("a failed connect is connect_failed with the database name", "[connection]") {
    auto db = fake_database();
    script().fail_connect = testing::fake_disconnect;  // even a "disconnect" code at connect time
    error e = caught([&] { (void)db.connect(); });
    CHECK(e.kind() == errc::connect_failed);
    CHECK(e.database() == "main");
    CHECK(e.backend() == "fake");
}

TEST_CASE("a backend throwing a foreign exception is reported as a plugin error", "[connection]") {
    auto db = fake_database();
    connection c = db.connect();
    script().throw_foreign_on_execute = true;
    error e = caught([&] { c.execute("SELECT 1"); });
    CHECK(e.kind() == errc::plugin);
    CHECK(std::string(e.what()).find("not a switchboard error") != std::string::npos);
    c.execute("SELECT 1");  // still usable
}

TEST_CASE("an error the backend raises itself gets the backend, database and statement", "[connection]") {
    auto db = fake_database();
    connection c = db.connect();
    script().throw_error_on_begin = errc::lock_timeout;
    error e = caught([&] { c.begin(); });
    CHECK(e.kind() == errc::lock_timeout);
    CHECK(e.backend() == "fake");
    CHECK(e.database() == "main");
    CHECK(e.statement() == "BEGIN");
    CHECK(c.state() == connection_state::idle);
    CHECK_THROWS_AS([&] { script().throw_error_on_begin = errc::lock_timeout; c.begin(); }(), transaction_error);
}

TEST_CASE("transactions roll back in their destructor unless committed", "[connection][transaction]") {
    auto db = fake_database();
    connection c = db.connect();
    { auto tx = c.begin(); }
    CHECK(script().rollbacks == 1);
    {
        auto tx = c.begin();
        tx.commit();
        CHECK_FALSE(tx.active());
    }
    CHECK(script().rollbacks == 1);
    CHECK(script().commits == 1);
    auto tx = c.begin();
    CHECK_THROWS_AS(c.begin(), usage_error);
    CHECK(c.in_transaction());
}

TEST_CASE("an old transaction object never touches a newer transaction", "[connection][transaction]") {
    auto db = fake_database();
    connection c = db.connect();
    auto first = c.begin();
    c.rollback();
    auto second = c.begin();
    CHECK_FALSE(first.active());
    first.rollback();  // no effect on the second
    CHECK(second.active());
    CHECK_THROWS_AS(first.commit(), usage_error);
    second.commit();
    CHECK(script().commits == 1);
}

TEST_CASE("a transaction survives moving its connection", "[connection][transaction]") {
    auto db = fake_database();
    connection c = db.connect();
    auto tx = c.begin();
    connection moved = std::move(c);
    tx.commit();
    CHECK(moved.state() == connection_state::idle);
    CHECK(script().commits == 1);
}

TEST_CASE("a finished transaction object may outlive its connection", "[connection][transaction]") {
    auto db = fake_database();
    std::optional<transaction> committed, rolled_back;
    {
        connection c = db.connect();
        committed.emplace(c.begin());
        committed->commit();
        rolled_back.emplace(c.begin());
        rolled_back->rollback();
    }
    CHECK_FALSE(committed->active());
    CHECK_FALSE(rolled_back->active());
    CHECK(script().commits == 1);
    CHECK(script().rollbacks == 1);
}

TEST_CASE("typed reads convert strictly and name the column on error", "[result]") {
    auto db = fake_database();
    const std::string q = "SELECT * FROM t";
    script().columns[q] = {"i", "d", "s", "n", "b", "flag"};
    script().rows[q] = {{std::int64_t{300}, 2.5, std::string("text"), null, bytes{std::byte{0}, std::byte{1}}, std::int64_t{1}}};
    connection c = db.connect();
    result r = c.query(q);
    REQUIRE(r.next());
    const row& x = r.current();
    CHECK(x.get<std::int64_t>("i") == 300);
    CHECK(x.get<int>(0) == 300);
    CHECK(x.get<double>(0) == 300.0);
    CHECK(x.get<double>("d") == 2.5);
    CHECK(x.get<std::string>("s") == "text");
    CHECK(x.get<std::optional<std::string>>("n") == std::nullopt);
    CHECK(x.get<bytes>("b") == bytes{std::byte{0}, std::byte{1}});
    CHECK(x.get<bool>("flag"));

    auto message_of = [&](auto&& f) { return std::string(caught(f).what()); };
    CHECK(message_of([&] { (void)x.get<std::int8_t>("i"); }).find("out of range") != std::string::npos);
    CHECK(message_of([&] { (void)x.get<std::int64_t>("d"); }).find("column 1 ('d') holds double") != std::string::npos);
    CHECK(message_of([&] { (void)x.get<std::int64_t>("s"); }).find("cannot be read as signed integer") != std::string::npos);
    CHECK(message_of([&] { (void)x.get<std::string>("n"); }).find("is NULL") != std::string::npos);
    CHECK(message_of([&] { (void)x.get<bool>("i"); }).find("out of range for bool") != std::string::npos);
    CHECK(message_of([&] { (void)x.get<int>("nope"); }).find("no column named 'nope'") != std::string::npos);
    CHECK(message_of([&] { (void)x.get<int>(17); }).find("out of range") != std::string::npos);
    CHECK_FALSE(r.next());
}

TEST_CASE("query_value returns the first column of the first row, or a usage error", "[result]") {
    auto db = fake_database();
    script().columns["SELECT 1"] = {"one"};
    script().rows["SELECT 1"] = {{std::int64_t{1}}};
    connection c = db.connect();
    CHECK(c.query_value<int>("SELECT 1") == 1);
    CHECK_THROWS_AS(c.query_value<int>("SELECT nothing"), usage_error);
}

TEST_CASE("a disconnection while reading rows dooms the connection", "[result][doom]") {
    auto db = fake_database();
    script().columns["SELECT v"] = {"v"};
    script().rows["SELECT v"] = {{std::int64_t{1}}, {std::int64_t{2}}};
    connection c = db.connect();
    auto tx = c.begin();
    result r = c.query("SELECT v");
    REQUIRE(r.next());
    script().fail_fetch = testing::fake_disconnect;
    CHECK(caught([&] { r.next(); }).kind() == errc::disconnected);
    CHECK(c.state() == connection_state::doomed);
    // The result outlives the dropped statement safely and reports the loss.
    CHECK(caught([&] { r.next(); }).kind() == errc::disconnected);
    tx.rollback();
}

TEST_CASE("library options are validated", "[database]") {
    CHECK_THROWS_AS(fake_database("fake://h/db?sb.bogus=1"), usage_error);
    CHECK_THROWS_AS(fake_database("fake://h/db?sb.statement_cache=-1"), usage_error);
    CHECK(fake_database("fake://h/db?sb.name=primary").name() == "primary");
    CHECK(fake_database("fake://h/inventory").name() == "inventory");
}

TEST_CASE("transaction control as statement text is refused; savepoints are not", "[connection][usage]") {
    auto db = fake_database();
    connection c = db.connect();
    for (const char* sql : {"BEGIN", "begin immediate", "  /* why */ COMMIT", "-- note\nEND", "START TRANSACTION",
                            "start  transaction read only", "ROLLBACK", "rollback work", "ABORT"}) {
        INFO(sql);
        CHECK(caught([&] { c.execute(sql); }).kind() == errc::usage);
    }
    CHECK(script().prepares == 0);
    c.execute("SAVEPOINT a");
    c.execute("ROLLBACK TO SAVEPOINT a");
    c.execute("rollback transaction to a");
    c.execute("BEGINNING_OF_A_NAME()");
    CHECK(script().executes == 4);
    CHECK(c.state() == connection_state::idle);
}

TEST_CASE("after the server ends a transaction, the rest of it is refused until rollback", "[connection][doom]") {
    auto db = fake_database();
    connection c = db.connect();
    auto tx = c.begin();
    c.execute("INSERT 1");
    script().fail_execute = testing::fake_syntax;
    script().end_transaction_on_failure = true;
    error first = caught([&] { c.execute("INSERT 2"); });
    CHECK(first.kind() == errc::syntax);
    CHECK(std::string(first.what()).find("call rollback()") != std::string::npos);
    const int executes = script().executes;
    CHECK(caught([&] { c.execute("INSERT 3"); }).kind() == errc::usage);  // would commit on its own
    CHECK(caught([&] { tx.commit(); }).kind() == errc::usage);
    CHECK(script().executes == executes);
    CHECK(script().commits == 0);
    tx.rollback();
    CHECK(c.state() == connection_state::idle);
    c.execute("INSERT 4");
}

TEST_CASE("begin() on an idle connection that died unnoticed reconnects once", "[connection][reconnect]") {
    auto db = fake_database();
    connection c = db.connect();
    script().fail_begin = testing::fake_disconnect;
    auto tx = c.begin();
    CHECK(c.in_transaction());
    CHECK(script().connects == 2);
    CHECK(script().begins == 2);
    tx.commit();

    // When the reconnect fails too, the caller gets connect_failed.
    script().fail_begin = testing::fake_disconnect;
    script().fail_connect = testing::fake_refused;
    CHECK(caught([&] { c.begin(); }).kind() == errc::connect_failed);
    CHECK(c.state() == connection_state::closed);
}

TEST_CASE("a named lock guard never releases a lock of a newer session", "[connection][locks]") {
    using namespace std::chrono_literals;
    auto db = fake_database();
    connection c = db.connect();
    named_lock a = c.lock("job", 0ms);
    CHECK(a.held());
    auto tx = c.begin();
    script().fail_execute = testing::fake_disconnect;
    CHECK_THROWS_AS(c.execute("UPDATE x"), connection_error);
    CHECK_FALSE(a.held());  // its session is gone
    tx.rollback();
    auto again = c.begin();  // reconnects: a new session
    named_lock b = c.lock("job", 0ms);
    a.unlock();  // must not release b's lock
    CHECK(b.held());
    CHECK(script().locks["job"] == 2);
    b.unlock();
    CHECK(script().locks["job"] == 1);
    CHECK_FALSE(b.held());
}

TEST_CASE("transactions, results and lock guards survive their connection being replaced", "[connection][lifetime]") {
    using namespace std::chrono_literals;
    auto db = fake_database();
    script().columns["SELECT v"] = {"v"};
    script().rows["SELECT v"] = {{std::int64_t{1}}, {std::int64_t{2}}};
    connection c = db.connect();
    auto tx = c.begin();
    named_lock l = c.lock("x", 0ms);
    result r = c.query("SELECT v");
    REQUIRE(r.next());
    c = db.connect();  // the old connection (and its transaction) is gone
    CHECK_FALSE(tx.active());
    CHECK_FALSE(l.held());
    CHECK_THROWS_AS(r.next(), usage_error);
    CHECK_THROWS_AS(r.current().get<int>(0), usage_error);
    CHECK(script().live_statements == 0);
    CHECK(script().live_connections == 1);
}

TEST_CASE("a moved-from connection says so instead of crashing", "[connection][usage]") {
    auto db = fake_database();
    connection c = db.connect();
    connection d = std::move(c);
    CHECK(c.state() == connection_state::closed);
    CHECK_THROWS_AS(c.execute("SELECT 1"), usage_error);
    CHECK_THROWS_AS(c.begin(), usage_error);
    CHECK_THROWS_AS((void)c.db(), usage_error);
    d.execute("SELECT 1");
}
