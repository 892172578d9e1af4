// SPDX-License-Identifier: MIT
// Conformance: bound parameters, usage errors that leave the connection usable, hostile input.
#include "conformance_fixture.hpp"

#include <catch2/catch.hpp>

using namespace switchboard;
using namespace switchboard::conformance;

namespace {
template <class F>
errc kind_of(F&& f) {
    try {
        f();
    } catch (const error& e) {
        return e.kind();
    }
    FAIL("expected a switchboard::error");
    return errc::other;
}
}  // namespace

TEST_CASE("a wrong parameter count is a usage error and the connection stays usable", "[conformance][usage]") {
    connection c = db().connect();
    const std::string t = make_table(c, "params", "a INTEGER, b INTEGER");
    CHECK(kind_of([&] { c.execute("INSERT INTO " + t + " (a, b) VALUES (?, ?)", 1); }) == errc::usage);
    CHECK(kind_of([&] { c.execute("INSERT INTO " + t + " (a, b) VALUES (?, ?)", 1, 2, 3); }) == errc::usage);
    CHECK(c.state() == connection_state::idle);
    c.execute("INSERT INTO " + t + " (a, b) VALUES (?, ?)", 1, 2);
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 1);
}

TEST_CASE("a type mismatch on read is a usage error and the connection stays usable", "[conformance][usage]") {
    connection c = db().connect();
    const std::string t = make_table(c, "mismatch", "a INTEGER, s " + types().text);
    c.execute("INSERT INTO " + t + " (a, s) VALUES (?, ?)", 1, "x");
    CHECK(kind_of([&] { (void)c.query_value<std::int64_t>("SELECT s FROM " + t); }) == errc::usage);
    CHECK(kind_of([&] { (void)c.query_value<std::string>("SELECT a FROM " + t); }) == errc::usage);
    CHECK(kind_of([&] { (void)c.query_value<int>("SELECT a FROM " + t + " WHERE a = ?", 99); }) == errc::usage);
    {
        auto tx = c.begin();
        CHECK(kind_of([&] { (void)c.query_value<std::int64_t>("SELECT s FROM " + t); }) == errc::usage);
        c.execute("INSERT INTO " + t + " (a, s) VALUES (?, ?)", 2, "y");
        tx.commit();  // a usage error does not spoil the transaction
    }
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 2);
}

TEST_CASE("hostile strings are bound as data and round-trip byte-exact", "[conformance][security]") {
    connection c = db().connect();
    const std::string t = make_table(c, "hostile", "id INTEGER NOT NULL, v " + types().text);
    const std::string hostile[] = {
        "'; DROP TABLE " + t + "; --",
        "\" OR \"1\"=\"1",
        "back\\slash\\' and \\\\",
        "?, ?, ?",
        "$1 $$dollar$$ /* comment */ -- line",
        "\xE2\x80\x8B zero-width and \xEF\xBB\xBF BOM",
    };
    int id = 0;
    for (const auto& s : hostile) c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", id++, s);
    id = 0;
    for (const auto& s : hostile) {
        const std::string back = c.query_value<std::string>("SELECT v FROM " + t + " WHERE id = ?", id++);
        CHECK(back == s);
    }
    // Looked up by value too: the parameter is compared as data, never parsed.
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t + " WHERE v = ?", hostile[0]) == 1);
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == static_cast<std::int64_t>(std::size(hostile)));
}

TEST_CASE("a NUL byte in text round-trips, or is refused where text cannot hold it", "[conformance][security]") {
    connection c = db().connect();
    const std::string t = make_table(c, "nul", "v " + types().text);
    const std::string with_nul("nul\0inside'; --", 15);
    if (db().has(spi::capability::nul_in_text)) {
        c.execute("INSERT INTO " + t + " (v) VALUES (?)", with_nul);
        CHECK(c.query_value<std::string>("SELECT v FROM " + t) == with_nul);
    } else {
        // Never cut at the NUL and store the rest: that would be silent data loss.
        CHECK_THROWS_AS(c.execute("INSERT INTO " + t + " (v) VALUES (?)", with_nul), usage_error);
        CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 0);
    }
    // As bytes, a NUL is always fine.
    const std::string b = make_table(c, "nulb", "v " + types().blob);
    const bytes raw{std::byte{'a'}, std::byte{0}, std::byte{'b'}};
    c.execute("INSERT INTO " + b + " (v) VALUES (?)", raw);
    CHECK(c.query_value<bytes>("SELECT v FROM " + b) == raw);
}

TEST_CASE("two statements in one string are refused", "[conformance][security]") {
    connection c = db().connect();
    const std::string t = make_table(c, "multi", "a INTEGER");
    const errc k = kind_of([&] { c.execute("INSERT INTO " + t + " (a) VALUES (1); DELETE FROM " + t); });
    CHECK((k == errc::usage || k == errc::syntax));
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 0);
}

TEST_CASE("syntax and integrity errors have their kinds and leave the connection usable", "[conformance][errors]") {
    connection c = db().connect();
    const std::string t = make_table(c, "errs", "id INTEGER PRIMARY KEY, v INTEGER NOT NULL");
    CHECK(kind_of([&] { c.execute("SELEC 1"); }) == errc::syntax);
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 1, 1);
    CHECK(kind_of([&] { c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 1, 2); }) == errc::integrity);
    CHECK(kind_of([&] { c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 2, null); }) == errc::integrity);
    CHECK(c.state() == connection_state::idle);
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 1);
}

TEST_CASE("an error names the backend, the database and the statement, never the values", "[conformance][errors]") {
    connection c = db().connect();
    const std::string t = make_table(c, "ctx", "id INTEGER PRIMARY KEY");
    c.execute("INSERT INTO " + t + " (id) VALUES (?)", 424242);
    try {
        c.execute("INSERT INTO " + t + " (id) VALUES (?)", 424242);
        FAIL("expected an integrity error");
    } catch (const statement_error& e) {
        CHECK(e.kind() == errc::integrity);
        CHECK(e.backend() == db().backend_name());
        CHECK(e.database() == db().name());
        CHECK(e.statement() == "INSERT INTO " + t + " (id) VALUES (?)");
        CHECK(std::string(e.what()).find(t) != std::string::npos);
    }
}

TEST_CASE("affected rows and last insert id are reported", "[conformance][statements]") {
    connection c = db().connect();
    const std::string t = make_table(c, "ids", "id " + types().auto_id + ", v INTEGER");
    const command_result first = c.execute("INSERT INTO " + t + " (v) VALUES (?)", 10);
    const command_result second = c.execute("INSERT INTO " + t + " (v) VALUES (?)", 20);
    CHECK(first.affected_rows == 1);
    if (db().has(spi::capability::last_insert_id)) {
        REQUIRE(first.last_insert_id);
        REQUIRE(second.last_insert_id);
        CHECK(*second.last_insert_id > *first.last_insert_id);
        CHECK(c.query_value<std::int64_t>("SELECT v FROM " + t + " WHERE id = ?", *second.last_insert_id) == 20);
    }
    CHECK(c.execute("UPDATE " + t + " SET v = v + 1").affected_rows == 2);
    CHECK(c.execute("DELETE FROM " + t + " WHERE v > ?", 100).affected_rows == 0);
}

TEST_CASE("100k rows stream through one result", "[conformance][statements]") {
    connection c = db().connect();
    const std::string t = make_table(c, "many", "id INTEGER NOT NULL, v INTEGER NOT NULL");
    {
        auto tx = c.begin();
        for (int i = 0; i < 100000; ++i) c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", i, i % 7);
        tx.commit();
    }
    std::int64_t n = 0, sum = 0;
    for (const row& r : c.query("SELECT id, v FROM " + t + " ORDER BY id")) {
        CHECK_NOFAIL(r.get<std::int64_t>(0) == n);
        sum += r.get<std::int64_t>(1);
        ++n;
    }
    CHECK(n == 100000);
    CHECK(sum == c.query_value<std::int64_t>("SELECT SUM(v) FROM " + t));
}
