// SPDX-License-Identifier: MIT
// Conformance: commit, rollback, destructor rollback, read transactions, isolation between connections.
#include "conformance_fixture.hpp"

#include <catch2/catch.hpp>

using namespace switchboard;
using namespace switchboard::conformance;

TEST_CASE("a committed transaction is visible to another connection", "[conformance][transactions]") {
    connection c = db().connect();
    const std::string t = make_table(c, "commit", "v INTEGER");
    connection other = db().connect();
    auto tx = c.begin(tx_mode::write);
    c.execute("INSERT INTO " + t + " (v) VALUES (?)", 1);
    c.execute("INSERT INTO " + t + " (v) VALUES (?)", 2);
    tx.commit();
    CHECK(other.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 2);
}

TEST_CASE("rollback and the transaction's destructor discard the work", "[conformance][transactions]") {
    connection c = db().connect();
    const std::string t = make_table(c, "rollback", "v INTEGER");
    {
        auto tx = c.begin();
        c.execute("INSERT INTO " + t + " (v) VALUES (?)", 1);
        tx.rollback();
    }
    {
        auto tx = c.begin();
        c.execute("INSERT INTO " + t + " (v) VALUES (?)", 2);
    }  // not committed
    CHECK(c.state() == connection_state::idle);
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 0);
}

TEST_CASE("after commit the connection holds no transaction", "[conformance][transactions]") {
    connection c = db().connect();
    const std::string t = make_table(c, "idle", "v INTEGER");
    auto tx = c.begin();
    c.execute("INSERT INTO " + t + " (v) VALUES (?)", 1);
    tx.commit();
    CHECK(c.state() == connection_state::idle);
    // Autocommit: this insert is visible at once, with no begin().
    c.execute("INSERT INTO " + t + " (v) VALUES (?)", 2);
    connection other = db().connect();
    CHECK(other.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 2);
}

TEST_CASE("a read transaction refuses writes with read_only", "[conformance][transactions]") {
    connection c = db().connect();
    const std::string t = make_table(c, "ro", "v INTEGER");
    if (!db().has(spi::capability::read_only_transactions)) {
        WARN("backend " << db().backend_name() << " cannot enforce read-only transactions");
        return;
    }
    auto tx = c.begin(tx_mode::read);
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 0);
    try {
        c.execute("INSERT INTO " + t + " (v) VALUES (?)", 1);
        FAIL("a write in a read transaction must fail");
    } catch (const error& e) {
        CHECK(e.kind() == errc::read_only);
    }
    tx.rollback();
    // The next write transaction is not read-only.
    auto w = c.begin(tx_mode::write);
    c.execute("INSERT INTO " + t + " (v) VALUES (?)", 1);
    w.commit();
    CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 1);
}

TEST_CASE("begin inside a transaction is a usage error", "[conformance][transactions]") {
    connection c = db().connect();
    auto tx = c.begin();
    CHECK_THROWS_AS(c.begin(), usage_error);
    CHECK(c.in_transaction());
}
