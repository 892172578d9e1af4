// SPDX-License-Identifier: MIT
// Reconnect policies against the scripted fake backend: fail fast, backoff to a deadline, cancel, scopes.
#include "support/caught.hpp"
#include "support/fake_backend.hpp"

#include <switchboard/connection.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <stop_token>
#include <thread>

using namespace switchboard;
using namespace std::chrono_literals;
using switchboard::testing::script;
using switchboard::testing::caught;
using switchboard::testing::fake_database;

namespace {

auto elapsed_since(std::chrono::steady_clock::time_point t) { return std::chrono::steady_clock::now() - t; }

}  // namespace

TEST_CASE("the backoff cap doubles from the initial delay up to the maximum", "[reconnect]") {
    const auto p = reconnect_policy::backoff(10s, 50ms, 400ms);
    CHECK(p.delay_cap(1) == 50ms);
    CHECK(p.delay_cap(2) == 100ms);
    CHECK(p.delay_cap(3) == 200ms);
    CHECK(p.delay_cap(4) == 400ms);
    CHECK(p.delay_cap(60) == 400ms);  // saturates, never overflows
}

TEST_CASE("fail_fast makes exactly one attempt and fails at once", "[reconnect]") {
    auto db = fake_database();
    connection c = db.connect();
    c.close();
    script().failing_connects = 100;
    const auto started = std::chrono::steady_clock::now();
    error e = caught([&] { c.begin(); });
    CHECK(e.kind() == errc::connect_failed);
    CHECK(script().connects == 2);  // the first connect, then one attempt
    CHECK(elapsed_since(started) < 1s);
}

TEST_CASE("backoff retries until the server is back", "[reconnect]") {
    auto db = fake_database();
    connection c = db.connect();
    c.close();
    script().failing_connects = 3;
    auto tx = c.begin(tx_mode::write, reconnect_policy::backoff(10s, 1ms, 8ms));
    CHECK(c.in_transaction());
    CHECK(script().connects == 1 + 4);
    tx.commit();
}

TEST_CASE("backoff gives up at its deadline with the attempt count and the last cause", "[reconnect]") {
    auto db = fake_database();
    script().failing_connects = 1000000;
    const auto started = std::chrono::steady_clock::now();
    error e = caught([&] { connection c(db, reconnect_policy::backoff(200ms, 1ms, 20ms)); });
    const auto took = elapsed_since(started);
    CHECK(e.kind() == errc::connect_failed);
    CHECK(e.is_transient());
    CHECK(script().connects > 2);
    CHECK(std::string(e.what()).find("attempt(s)") != std::string::npos);
    CHECK(std::string(e.what()).find("fake failure 4") != std::string::npos);
    CHECK(took < 200ms + 100ms);  // the deadline, plus scheduling slack; never a further wait
}

TEST_CASE("a failure retrying cannot cure ends backoff at once", "[reconnect]") {
    auto db = fake_database();
    script().failing_connects = 1000000;
    script().failing_connect_code = testing::fake_auth;
    error e = caught([&] { connection c(db, reconnect_policy::backoff(10s, 1ms, 5ms)); });
    CHECK(e.kind() == errc::connect_failed);
    CHECK_FALSE(e.is_transient());
    CHECK(script().connects == 1);
}

TEST_CASE("a backoff wait is cancelled promptly from another thread", "[reconnect][concurrency]") {
    auto db = fake_database();
    script().failing_connects = 1000000;
    std::stop_source stop;
    const auto policy = reconnect_policy::backoff(60s, 500ms, 500ms).with_cancel(stop.get_token());
    std::jthread canceller([&] {
        std::this_thread::sleep_for(50ms);  // let the first attempt fail and the wait begin
        stop.request_stop();
    });
    const auto started = std::chrono::steady_clock::now();
    error e = caught([&] { connection c(db, policy); });
    CHECK(e.kind() == errc::connect_failed);
    CHECK_FALSE(e.is_transient());
    CHECK(std::string(e.what()).find("cancelled") != std::string::npos);
    CHECK(elapsed_since(started) < 10s);  // far below the 60 s deadline
}

TEST_CASE("a reconnect_scope overrides the database default, nests, and is per thread", "[reconnect][concurrency]") {
    auto db = fake_database("fake://host/main?sb.reconnect=fail_fast");
    CHECK(db.reconnect().kind == reconnect_policy::mode::fail_fast);
    CHECK(reconnect_scope::current() == nullptr);
    {
        reconnect_scope outer(reconnect_policy::backoff(5s, 1ms, 2ms));
        CHECK(reconnect_scope::current()->kind == reconnect_policy::mode::backoff);
        {
            reconnect_scope inner(reconnect_policy::fail_fast());
            CHECK(reconnect_scope::current()->kind == reconnect_policy::mode::fail_fast);
        }
        CHECK(reconnect_scope::current()->deadline == 5s);
        bool other_thread_sees_scope = true;
        std::thread([&] { other_thread_sees_scope = reconnect_scope::current() != nullptr; }).join();
        CHECK_FALSE(other_thread_sees_scope);

        connection c = db.connect();
        c.close();
        script().failing_connects = 2;
        auto tx = c.begin();  // the scope's backoff rides over two refusals
        CHECK(script().connects == 1 + 3);
    }
    CHECK(reconnect_scope::current() == nullptr);
}

TEST_CASE("reconnect options in the URL set the database default", "[reconnect]") {
    auto db = fake_database("fake://h/db?sb.reconnect=backoff&sb.reconnect_deadline=1500&sb.reconnect_initial_delay=7"
                      "&sb.reconnect_max_delay=70");
    CHECK(db.reconnect().kind == reconnect_policy::mode::backoff);
    CHECK(db.reconnect().deadline == 1500ms);
    CHECK(db.reconnect().initial_delay == 7ms);
    CHECK(db.reconnect().max_delay == 70ms);
    CHECK_THROWS_AS(fake_database("fake://h/db?sb.reconnect=sometimes"), usage_error);
    CHECK_THROWS_AS(fake_database("fake://h/db?sb.reconnect_deadline=soon"), usage_error);
}
