// SPDX-License-Identifier: MIT
// Conformance: named locks exclude a second connection and time out with lock_timeout; server identity; ping.
#include "conformance_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace switchboard;
using namespace switchboard::conformance;
using namespace std::chrono_literals;

TEST_CASE("a named lock excludes a second connection until released", "[conformance][locks]") {
    if (!db().has(spi::capability::named_locks)) {
        WARN("backend " << db().backend_name() << " has no named locks");
        connection c = db().connect();
        CHECK_THROWS_AS(c.lock(unique_name("lock"), 0ms), usage_error);
        return;
    }
    const std::string name = unique_name("lock");
    connection a = db().connect();
    connection b = db().connect();
    named_lock held = a.lock(name, 0ms);
    CHECK(held.held());

    const auto started = std::chrono::steady_clock::now();
    try {
        (void)b.lock(name, 200ms);
        FAIL("the second connection must not get the lock");
    } catch (const transaction_error& e) {
        CHECK(e.kind() == errc::lock_timeout);
        CHECK(e.is_transient());
        CHECK(e.connection_usable());
    }
    const auto waited = std::chrono::steady_clock::now() - started;
    CHECK(waited >= 150ms);  // it did wait, roughly as long as asked
    CHECK(b.state() == connection_state::idle);

    held.unlock();
    CHECK_FALSE(held.held());
    named_lock second = b.lock(name, 1000ms);
    CHECK(second.held());
}

TEST_CASE("a named lock is released when its guard goes out of scope", "[conformance][locks]") {
    if (!db().has(spi::capability::named_locks)) return;
    const std::string name = unique_name("scoped");
    connection a = db().connect();
    connection b = db().connect();
    { named_lock l = a.lock(name, 0ms); }
    named_lock l = b.lock(name, 0ms);
    CHECK(l.held());
}

TEST_CASE("the server identity names a role for network backends", "[conformance][identity]") {
    connection c = db().connect();
    const server_identity id = c.server();
    if (db().has(spi::capability::network)) {
        CHECK_FALSE(id.version.empty());
        CHECK(id.role == server_role::primary);  // the conformance URL is a primary
    } else {
        CHECK(id.role == server_role::unknown);
    }
}

TEST_CASE("ping answers on a live connection, idle or in a transaction, and changes nothing", "[conformance][ping]") {
    connection c = db().connect();
    c.ping();
    CHECK(c.state() == connection_state::idle);
    auto tx = c.begin();
    c.ping();
    CHECK(c.state() == connection_state::in_transaction);
    CHECK(c.query_value<std::int64_t>("SELECT 1") == 1);
    tx.commit();

    SECTION("not while a result is alive: usage, and the result and connection stay usable") {
        {
            result r = c.query("SELECT 1");
            CHECK_THROWS_AS(c.ping(), usage_error);
            std::int64_t n = 0;
            for (const row& x : r) n += x.get<std::int64_t>(0);
            CHECK(n == 1);
        }
        c.ping();
    }
}
