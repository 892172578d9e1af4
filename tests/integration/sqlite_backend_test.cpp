// SPDX-License-Identifier: MIT
// The SQLite backend through the public API: column names after re-prepare, transactions SQLite ends by itself, last_insert_id.
#include "support/sqlite_fixture.hpp"

#include <switchboard/connection.hpp>
#include <switchboard/database.hpp>
#include <switchboard/error.hpp>
#include <switchboard/plugin_registry.hpp>
#include <switchboard/spi/backend.hpp>
#include <switchboard/spi/plugin.hpp>
#include <switchboard/sqlite/sqlite.hpp>
#include <switchboard/url.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using switchboard::errc;
using switchboard::tx_mode;
using switchboard::testing::registry_with_sqlite;
using switchboard::testing::temp_database;

std::vector<std::string> column_names(const switchboard::result& r) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < r.column_count(); ++i) names.emplace_back(r.column_name(i));
    return names;
}

// Runs the same text every time, so the connection's statement cache hands back the
// statement prepared the first time; SQLite re-prepares it inside its first step.
constexpr const char* select_all = "SELECT * FROM t";

}  // namespace

TEST_CASE("sqlite cached SELECT * follows ALTER TABLE on the same connection", "[sqlite][schema]") {
    registry_with_sqlite sqlite;
    const auto db = sqlite.open_url("sqlite::memory:");
    auto conn = db.connect();
    conn.execute("CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER)");
    conn.execute("INSERT INTO t VALUES (1, 2, 3)");
    {
        auto r = conn.query(select_all);
        CHECK(column_names(r) == std::vector<std::string>{"a", "b", "c"});
        REQUIRE(r.next());
        CHECK(r.current().get<std::int64_t>("b") == 2);
    }

    conn.execute("ALTER TABLE t DROP COLUMN b");
    {
        auto r = conn.query(select_all);
        CHECK(column_names(r) == std::vector<std::string>{"a", "c"});
        REQUIRE(r.next());
        CHECK(r.current().get<std::int64_t>("c") == 3);
        CHECK_FALSE(r.find_column("b").has_value());
        CHECK_THROWS_AS(r.current().get<std::int64_t>("b"), switchboard::usage_error);
    }

    conn.execute("ALTER TABLE t ADD COLUMN d INTEGER NOT NULL DEFAULT 4");
    {
        auto r = conn.query(select_all);
        CHECK(column_names(r) == std::vector<std::string>{"a", "c", "d"});
        REQUIRE(r.next());
        CHECK(r.current().get<std::int64_t>("d") == 4);
    }

    conn.execute("ALTER TABLE t RENAME COLUMN a TO id");
    {
        auto r = conn.query(select_all);
        CHECK(column_names(r) == std::vector<std::string>{"id", "c", "d"});
        REQUIRE(r.next());
        CHECK(r.current().get<std::int64_t>("id") == 1);
    }
}

TEST_CASE("sqlite cached SELECT * follows ALTER TABLE made by another connection", "[sqlite][schema]") {
    // The other connection's change reaches this one only as a new schema cookie in the
    // file, which SQLite notices at the statement's first step (SQLITE_SCHEMA, re-prepare).
    registry_with_sqlite sqlite;
    temp_database temp("reprepare");
    const auto db = sqlite.open(temp.file);
    auto reader = db.connect();
    auto writer = db.connect();
    writer.execute("CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER)");
    writer.execute("INSERT INTO t VALUES (1, 2, 3)");
    {
        auto r = reader.query(select_all);
        CHECK(column_names(r) == std::vector<std::string>{"a", "b", "c"});
    }

    writer.execute("ALTER TABLE t DROP COLUMN b");
    {
        auto r = reader.query(select_all);
        CHECK(column_names(r) == std::vector<std::string>{"a", "c"});
        REQUIRE(r.next());
        CHECK(r.current().get<std::int64_t>("c") == 3);
        CHECK_THROWS_AS(r.current().get<std::int64_t>("b"), switchboard::usage_error);
    }

    writer.execute("ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'new'");
    {
        auto r = reader.query(select_all);
        CHECK(column_names(r) == std::vector<std::string>{"a", "c", "b"});
        REQUIRE(r.next());
        CHECK(r.current().get<std::string>("b") == "new");
        CHECK(r.current().get<std::int64_t>("c") == 3);
    }
}

TEST_CASE("sqlite transaction that SQLite rolled back by itself refuses further statements",
          "[sqlite][transaction]") {
    registry_with_sqlite sqlite;
    temp_database temp("transaction-ended");
    const auto db = sqlite.open(temp.file);
    auto conn = db.connect();
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    conn.execute("CREATE TRIGGER t_limit BEFORE INSERT ON t WHEN NEW.id > 100 "
                 "BEGIN SELECT RAISE(ROLLBACK, 'id over 100'); END");

    // Both ways SQL can end the transaction from inside a statement (lang_conflict.html,
    // lang_createtrigger.html): the failed statement is an integrity error.
    const std::string rolling_back =
        GENERATE(as<std::string>{}, "INSERT OR ROLLBACK INTO t VALUES (1)", "INSERT INTO t VALUES (101)");
    INFO(rolling_back);

    auto tx = conn.begin(tx_mode::write);
    conn.execute("INSERT INTO t VALUES (1)");
    try {
        conn.execute(rolling_back);
        FAIL("the statement should have failed");
    } catch (const switchboard::error& e) {
        CHECK(e.kind() == errc::integrity);
        CHECK(e.connection_usable());
    }

    // SQLite is back in autocommit mode: this statement would commit on its own, outside the
    // transaction the caller still holds. It must be refused, and so must COMMIT.
    CHECK_THROWS_AS(conn.execute("INSERT INTO t VALUES (2)"), switchboard::usage_error);
    CHECK_THROWS_AS(conn.query_value<std::int64_t>("SELECT count(*) FROM t"), switchboard::usage_error);
    CHECK_THROWS_AS(tx.commit(), switchboard::usage_error);
    CHECK(conn.in_transaction());

    tx.rollback();
    CHECK_FALSE(conn.in_transaction());

    // Nothing of the transaction, nor anything after it, reached the file.
    auto other = db.connect();
    CHECK(other.query_value<std::int64_t>("SELECT count(*) FROM t") == 0);

    // The writer lock was released: a writer on another thread gets in at once.
    const auto impatient = sqlite.open(temp.file, "?writer_lock_timeout=0&busy_timeout=0");
    auto writer = std::async(std::launch::async, [&] {
        auto c = impatient.connect();
        auto t = c.begin(tx_mode::write);
        c.execute("INSERT INTO t VALUES (7)");
        t.commit();
    });
    CHECK_NOTHROW(writer.get());

    // And the connection goes on: a new transaction works as usual.
    auto again = conn.begin(tx_mode::write);
    conn.execute("INSERT INTO t VALUES (8)");
    again.commit();
    CHECK(other.query_value<std::int64_t>("SELECT count(*) FROM t") == 2);
}

TEST_CASE("sqlite backend says transaction_ended exactly when SQLite ended the transaction",
          "[sqlite][transaction][spi]") {
    // The backend's half of the rule above, seen at the plugin boundary, without core.
    std::unique_ptr<switchboard::spi::backend> backend(switchboard::sqlite::descriptor.create());
    const auto location = switchboard::url::parse("sqlite::memory:");
    auto conn = backend->connect({location, "memory"});
    {
        auto setup = conn->prepare("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        setup->execute({});
        setup->reset();
    }
    const auto failure_of = [&](const char* sql) -> std::optional<switchboard::spi::native_error> {
        auto stmt = conn->prepare(sql);
        try {
            stmt->execute({});
        } catch (const switchboard::spi::native_failure& f) {
            stmt->reset();
            return f.error();
        }
        stmt->reset();
        return std::nullopt;
    };

    SECTION("outside a transaction: never") {
        REQUIRE_FALSE(failure_of("INSERT INTO t VALUES (1)"));
        const auto e = failure_of("INSERT OR ROLLBACK INTO t VALUES (1)");
        REQUIRE(e);
        CHECK(backend->classify(*e).kind == errc::integrity);
        CHECK_FALSE(e->transaction_ended);
    }
    SECTION("a constraint error that leaves the transaction open: no") {
        conn->begin(tx_mode::write);
        REQUIRE_FALSE(failure_of("INSERT INTO t VALUES (1)"));
        const auto e = failure_of("INSERT INTO t VALUES (1)");
        REQUIRE(e);
        CHECK_FALSE(e->transaction_ended);
        conn->commit();
    }
    SECTION("INSERT OR ROLLBACK inside a transaction: yes, and rollback() then succeeds") {
        conn->begin(tx_mode::write);
        REQUIRE_FALSE(failure_of("INSERT INTO t VALUES (1)"));
        const auto e = failure_of("INSERT OR ROLLBACK INTO t VALUES (1)");
        REQUIRE(e);
        CHECK(backend->classify(*e).kind == errc::integrity);
        CHECK(e->transaction_ended);
        CHECK_NOTHROW(conn->rollback());
    }
}

TEST_CASE("sqlite last_insert_id belongs to the run that inserted", "[sqlite][last_insert_id]") {
    registry_with_sqlite sqlite;
    const auto db = sqlite.open_url("sqlite::memory:");
    auto conn = db.connect();
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");

    const auto first = conn.execute("INSERT INTO t(name) VALUES (?)", "a");
    CHECK(first.affected_rows == 1);
    CHECK(first.last_insert_id == std::optional<std::int64_t>(1));
    const auto second = conn.execute("  /* leading comment */ -- and a line one\n insert into t(name) values (?)", "b");
    CHECK(second.last_insert_id == std::optional<std::int64_t>(2));

    SECTION("an ignored INSERT OR IGNORE inserted nothing") {
        const auto ignored = conn.execute("INSERT OR IGNORE INTO t(name) VALUES (?)", "a");
        CHECK(ignored.affected_rows == 0);
        CHECK(ignored.last_insert_id == std::nullopt);
    }
    SECTION("an UPDATE inserts nothing, whether it matches rows or not") {
        const auto none = conn.execute("UPDATE t SET name = ? WHERE id = ?", "z", 42);
        CHECK(none.affected_rows == 0);
        CHECK(none.last_insert_id == std::nullopt);
        const auto one = conn.execute("UPDATE t SET name = ? WHERE id = ?", "y", 1);
        CHECK(one.affected_rows == 1);
        CHECK(one.last_insert_id == std::nullopt);
    }
    SECTION("a DELETE and a SELECT insert nothing") {
        CHECK(conn.execute("DELETE FROM t WHERE id = ?", 1).last_insert_id == std::nullopt);
        CHECK(conn.execute("SELECT * FROM t").last_insert_id == std::nullopt);
    }
    SECTION("REPLACE reports the row it wrote, even when its rowid is the previous one") {
        const auto replaced = conn.execute("REPLACE INTO t(id, name) VALUES (?, ?)", 2, "b2");
        CHECK(replaced.last_insert_id == std::optional<std::int64_t>(2));
    }
    SECTION("an INSERT behind a WITH clause reports its row") {
        const auto with = conn.execute("WITH v(n) AS (SELECT ?) INSERT INTO t(name) SELECT n FROM v", "c");
        CHECK(with.affected_rows == 1);
        CHECK(with.last_insert_id == std::optional<std::int64_t>(3));
    }
    SECTION("the same cached INSERT, run again, reports only what it inserted") {
        const char* insert = "INSERT OR IGNORE INTO t(name) VALUES (?)";
        CHECK(conn.execute(insert, "d").last_insert_id == std::optional<std::int64_t>(3));
        CHECK(conn.execute(insert, "d").last_insert_id == std::nullopt);
        CHECK(conn.execute(insert, "e").last_insert_id == std::optional<std::int64_t>(4));
    }
}
