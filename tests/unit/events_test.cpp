// SPDX-License-Identifier: MIT
// Events: what the observer of a database is told about connects, losses, retries and the
// pool, against the scripted fake backend; and that no event carries a password or a value.
#include "support/caught.hpp"
#include "support/event_recorder.hpp"
#include "support/fake_backend.hpp"

#include <switchboard/events.hpp>
#include <switchboard/pool.hpp>
#include <switchboard/transact.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;
using switchboard::testing::caught;
using switchboard::testing::event_recorder;
using switchboard::testing::recorded_event;
using switchboard::testing::fake_database;
using switchboard::testing::script;

namespace {

struct observed {
    std::shared_ptr<event_recorder> events = std::make_shared<event_recorder>();
    database db;
    explicit observed(std::string_view url = "fake://app:s3cr%40t-pw@host/main?sb.name=orders")
        : db(fake_database(url, {.observer = events})) {}
};

constexpr std::string_view password = "s3cr@t-pw";

}  // namespace

TEST_CASE("connecting reports connected, with the attempt and whether it replaced a lost session", "[events]") {
    observed o;
    connection c = o.db.connect();
    auto connected = o.events->of(event_kind::connected);
    REQUIRE(connected.size() == 1);
    CHECK(connected[0].database == "orders");
    CHECK(connected[0].attempt == 1);
    CHECK_FALSE(connected[0].reconnect);

    // Lost while idle: disconnected (not in a transaction), then begin() reconnects.
    script().fail_execute = testing::fake_disconnect;
    CHECK(caught([&] { c.execute("SELECT 1"); }).kind() == errc::disconnected);
    auto lost = o.events->of(event_kind::disconnected);
    REQUIRE(lost.size() == 1);
    CHECK(lost[0].cause == errc::disconnected);
    CHECK_FALSE(lost[0].in_transaction);
    auto tx = c.begin();
    connected = o.events->of(event_kind::connected);
    REQUIRE(connected.size() == 2);
    CHECK(connected[1].reconnect);
}

TEST_CASE("a backoff reports each failed attempt with its wait, and the last with none", "[events]") {
    observed o;
    script().failing_connects = 2;
    connection c(o.db, reconnect_policy::backoff(10s, 1ms, 2ms));
    auto failed = o.events->of(event_kind::connect_attempt_failed);
    REQUIRE(failed.size() == 2);
    CHECK(failed[0].attempt == 1);
    CHECK(failed[1].attempt == 2);
    CHECK(failed[0].cause == errc::connect_failed);
    CHECK(failed[0].delay <= 2ms);
    auto connected = o.events->of(event_kind::connected);
    REQUIRE(connected.size() == 1);
    CHECK(connected[0].attempt == 3);

    SECTION("fail_fast: one attempt, reported with no wait") {
        script().failing_connects = 1;
        CHECK(caught([&] { connection d(o.db, reconnect_policy::fail_fast()); }).kind() == errc::connect_failed);
        failed = o.events->of(event_kind::connect_attempt_failed);
        REQUIRE(failed.size() == 3);
        CHECK(failed[2].attempt == 1);
        CHECK(failed[2].delay == 0ms);
    }
}

TEST_CASE("a loss inside a transaction is reported once, as doomed", "[events]") {
    observed o;
    connection c = o.db.connect();
    auto tx = c.begin();
    script().fail_execute = testing::fake_disconnect;
    CHECK(caught([&] { c.execute("UPDATE t SET v = ?", 42); }).kind() == errc::disconnected);
    CHECK(caught([&] { c.execute("SELECT 1"); }).kind() == errc::disconnected);  // doomed: refused, not lost again
    CHECK(caught([&] { tx.commit(); }).kind() == errc::disconnected);
    tx.rollback();
    auto lost = o.events->of(event_kind::disconnected);
    REQUIRE(lost.size() == 1);
    CHECK(lost[0].in_transaction);
    CHECK(lost[0].cause_text.find("UPDATE t SET v = ?") != std::string::npos);  // the statement, never its value
    CHECK(lost[0].cause_text.find("42") == std::string::npos);
}

TEST_CASE("a lost COMMIT is reported as a disconnection with outcome unknown", "[events]") {
    observed o;
    connection c = o.db.connect();
    auto tx = c.begin();
    script().fail_commit = testing::fake_disconnect;
    CHECK(caught([&] { tx.commit(); }).kind() == errc::commit_outcome_unknown);
    auto lost = o.events->of(event_kind::disconnected);
    REQUIRE(lost.size() == 1);
    CHECK(lost[0].cause == errc::commit_outcome_unknown);
}

TEST_CASE("transact reports each re-run with its cause, attempt and wait", "[events]") {
    observed o;
    connection c = o.db.connect();
    int runs = 0;
    transact(
        c,
        [&](connection& conn) {
            if (++runs < 3) script().fail_execute = testing::fake_serialization;
            conn.execute("UPDATE t SET v = 1");
        },
        {.initial_delay = 1ms, .max_delay = 2ms});
    CHECK(runs == 3);
    auto retries = o.events->of(event_kind::retry);
    REQUIRE(retries.size() == 2);
    CHECK(retries[0].attempt == 1);
    CHECK(retries[1].attempt == 2);
    CHECK(retries[0].cause == errc::serialization);
    CHECK(retries[0].delay <= 2ms);
}

TEST_CASE("the pool reports invalidation, failed validation and waits", "[events][concurrency]") {
    observed o;
    SECTION("a broken lease invalidates the pool") {
        pool p(o.db, {.max_size = 3});
        {
            auto a = p.acquire();
            auto b = p.acquire();
        }
        auto c = p.acquire();
        script().fail_execute = testing::fake_disconnect;
        CHECK(caught([&] { c->execute("SELECT 1"); }).kind() == errc::disconnected);
        c.reset();
        auto inv = o.events->of(event_kind::pool_invalidated);
        REQUIRE(inv.size() == 1);
        CHECK(inv[0].count == 1);  // the idle sibling, closed at once
        p.invalidate();
        CHECK(o.events->of(event_kind::pool_invalidated).size() == 2);
    }
    SECTION("a failed ping") {
        pool p(o.db, {.max_size = 2, .validate_idle_after = 20ms});
        p.acquire().reset();
        std::this_thread::sleep_for(60ms);  // past the threshold; not used to synchronise
        script().fail_ping = testing::fake_disconnect;
        auto c = p.acquire();
        auto failed = o.events->of(event_kind::pool_validation_failed);
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].cause == errc::disconnected);
        CHECK(o.events->of(event_kind::pool_invalidated).size() == 1);
    }
    SECTION("an acquire that waited, and one that timed out") {
        pool p(o.db, {.max_size = 1, .acquire_timeout = 10s});
        std::optional<pool::lease> held = p.acquire();
        std::thread waiter([&] { auto c = p.acquire(); });
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (p.stats().waiting != 1 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
        REQUIRE(p.stats().waiting == 1);
        held.reset();  // handed straight to the waiter
        waiter.join();
        auto waited = o.events->of(event_kind::acquire_waited);
        REQUIRE(waited.size() == 1);
        CHECK_FALSE(waited[0].cause.has_value());
        CHECK(waited[0].elapsed > 0ns);

        pool q(o.db, {.max_size = 1, .acquire_timeout = 20ms});
        auto only = q.acquire();
        CHECK(caught([&] { q.acquire(); }).kind() == errc::timeout);
        waited = o.events->of(event_kind::acquire_waited);
        REQUIRE(waited.size() == 2);
        CHECK(waited[1].cause == errc::timeout);
        CHECK(waited[1].elapsed >= 20ms);
    }
}

TEST_CASE("no event carries the password", "[events]") {
    observed o;
    script().failing_connects = 1;
    CHECK(caught([&] { connection c(o.db, reconnect_policy::fail_fast()); }).kind() == errc::connect_failed);
    connection c = o.db.connect();
    script().fail_execute = testing::fake_disconnect;
    (void)caught([&] { c.execute("SELECT 1"); });
    const auto all = o.events->events();
    REQUIRE(all.size() >= 3);
    for (const recorded_event& s : all) {
        CHECK(s.database_url.find(password) == std::string::npos);
        CHECK(s.database_url.find("s3cr%40t") == std::string::npos);
        CHECK(s.cause_text.find(password) == std::string::npos);
    }
}

TEST_CASE("every event kind has a name", "[events]") {
    for (event_kind k : {event_kind::connected, event_kind::connect_attempt_failed, event_kind::disconnected,
                         event_kind::retry, event_kind::pool_invalidated, event_kind::pool_validation_failed,
                         event_kind::acquire_waited})
        CHECK(to_string(k) != "unknown");
    CHECK(to_string(event_kind::retry) == "retry");
}
