// SPDX-License-Identifier: MIT
// The connection pool against the scripted fake backend (and a thread-safe counting one): bound, reuse, retirement, invalidation.
#include "support/caught.hpp"
#include "support/fake_backend.hpp"

#include <switchboard/pool.hpp>
#include <switchboard/spi/plugin.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;
using switchboard::testing::script;
using switchboard::testing::caught;
using switchboard::testing::fake_database;

namespace {

// ---- a thread-safe counting backend ---------------------------------------------------------
// The fake backend's script is single-threaded by contract; the tests that run many threads
// use this one, whose counters are atomics. It keeps a high-water mark of live connections.

struct counters {
    std::atomic<int> connects{0}, live{0}, high_water{0}, executes{0};
    void reset() {
        connects = 0;
        live = 0;
        high_water = 0;
        executes = 0;
    }
};
counters& counted() {
    static counters c;
    return c;
}

class counted_statement final : public spi::backend_statement {
public:
    std::size_t parameter_count() const noexcept override { return 0; }
    void execute(std::span<const value_view>) override { ++counted().executes; }
    bool next_row() override { return false; }
    std::size_t column_count() const noexcept override { return 0; }
    std::string_view column_name(std::size_t) const noexcept override { return {}; }
    value_view column(std::size_t) noexcept override { return null_t{}; }
    std::uint64_t affected_rows() const noexcept override { return 0; }
    std::optional<std::int64_t> last_insert_id() const noexcept override { return std::nullopt; }
    void reset() noexcept override {}
};

class counted_connection final : public spi::backend_connection {
public:
    counted_connection() {
        const int now = ++counted().live;
        int seen = counted().high_water.load();
        while (now > seen && !counted().high_water.compare_exchange_weak(seen, now)) {
        }
    }
    ~counted_connection() override { --counted().live; }
    std::unique_ptr<spi::backend_statement> prepare(std::string_view) override {
        return std::make_unique<counted_statement>();
    }
    void begin(tx_mode) override {}
    void commit() override {}
    void rollback() override {}
};

class counted_backend final : public spi::backend {
public:
    std::string_view name() const noexcept override { return "counted"; }
    spi::capability capabilities() const noexcept override { return {}; }
    void validate(const url&) const override {}
    std::unique_ptr<spi::backend_connection> connect(const spi::connect_request&) override {
        ++counted().connects;
        std::this_thread::yield();  // widen the window in which opens overlap
        return std::make_unique<counted_connection>();
    }
    spi::classification classify(const spi::native_error&) const noexcept override {
        return spi::classification::of(errc::other);
    }
};

spi::backend* create_counted() { return new counted_backend; }
const char* const counted_schemes[] = {"counted", nullptr};
const switchboard_plugin_descriptor counted_descriptor =
    spi::make_descriptor("counted", "test", counted_schemes, &create_counted);

database counted_db() {
    static plugin_registry* registry = [] {
        auto* r = new plugin_registry;
        r->use_environment(false);
        r->use_default_directories(false);
        r->register_static(counted_descriptor);
        return r;
    }();
    counted().reset();
    database_options o;
    o.registry = registry;
    return database("counted://host/main", o);
}

// Waits (yielding, bounded) until the pool reports `n` waiters.
bool wait_for_waiters(const pool& p, std::size_t n) {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (p.stats().waiting != n) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::yield();
    }
    return true;
}

}  // namespace

TEST_CASE("a returned connection is reused, not reopened", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 2});
    const connection* first = nullptr;
    {
        auto c = p.acquire();
        c->execute("SELECT 1");
        first = &*c;
    }
    CHECK(p.stats().idle == 1);
    auto c = p.acquire();
    CHECK(&*c == first);
    CHECK(script().connects == 1);
    CHECK(script().live_connections == 1);
}

TEST_CASE("the bound is never exceeded under contention", "[pool][concurrency]") {
    auto db = counted_db();
    pool p(db, {.max_size = 3, .acquire_timeout = 30s});
    std::atomic<int> leased{0}, most_leased{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 500; ++i) {
                auto c = p.acquire();
                const int now = ++leased;
                int seen = most_leased.load();
                while (now > seen && !most_leased.compare_exchange_weak(seen, now)) {
                }
                c->execute("SELECT 1");
                --leased;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(counted().high_water.load() <= 3);
    CHECK(most_leased.load() <= 3);
    CHECK(counted().connects.load() <= 3);
    CHECK(counted().executes.load() == 8 * 500);
    const pool_stats s = p.stats();
    CHECK(s.in_use == 0);
    CHECK(s.waiting == 0);
    CHECK(s.timeouts == 0);
    CHECK(s.open == s.idle);
    CHECK(s.open <= 3);
    CHECK(s.created - s.closed == s.open);
}

TEST_CASE("acquire gives up after acquire_timeout with a clear error", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 2, .acquire_timeout = 50ms});
    auto a = p.acquire();
    auto b = p.acquire();
    const auto started = std::chrono::steady_clock::now();
    error e = caught([&] { auto c = p.acquire(); });
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(e.kind() == errc::timeout);
    CHECK(e.is_transient());
    CHECK(e.connection_usable());
    CHECK(e.message() == "no connection free within 50 ms (pool of 2, all in use)");
    CHECK(e.database() == "main");
    CHECK(took >= 50ms);
    CHECK(took < 5s);
    const pool_stats s = p.stats();
    CHECK(s.timeouts == 1);
    CHECK(s.waiting == 0);
    CHECK_THROWS_AS(p.acquire(), transaction_error);  // the class errc::timeout maps to
    CHECK(s.open == 2);
    CHECK(script().connects == 2);

    pool now_or_never(db, {.max_size = 1, .acquire_timeout = 0ms});
    auto only = now_or_never.acquire();
    CHECK(caught([&] { auto c = now_or_never.acquire(); }).kind() == errc::timeout);
}

TEST_CASE("a returned connection goes to the waiters first come, first served", "[pool][concurrency]") {
    auto db = counted_db();
    pool p(db, {.max_size = 1, .acquire_timeout = 30s});
    std::optional<pool::lease> held = p.acquire();
    std::atomic<int> order{0};
    int first_got = 0, second_got = 0;
    std::thread first([&] {
        auto c = p.acquire();
        first_got = ++order;
    });
    REQUIRE(wait_for_waiters(p, 1));
    std::thread second([&] {
        auto c = p.acquire();
        second_got = ++order;
    });
    REQUIRE(wait_for_waiters(p, 2));
    held.reset();  // wakes exactly the first waiter, which then hands on to the second
    first.join();
    second.join();
    CHECK(first_got == 1);
    CHECK(second_got == 2);
    CHECK(counted().connects.load() == 1);
    CHECK(p.stats().timeouts == 0);
}

TEST_CASE("a doomed connection is closed, and the connections opened before it are not reused", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 3});
    auto a = p.acquire();
    std::optional<pool::lease> b = p.acquire();
    std::optional<pool::lease> older = p.acquire();
    b.reset();  // idle, opened before the failure
    CHECK(script().live_connections == 3);

    {
        auto tx = a->begin();
        script().fail_execute = testing::fake_disconnect;
        CHECK(caught([&] { a->execute("UPDATE t SET x = 1"); }).kind() == errc::disconnected);
        CHECK(a->state() == connection_state::doomed);
        a.reset();  // returned doomed, inside its transaction
    }
    pool_stats s = p.stats();
    CHECK(s.generation == 1);
    CHECK(s.idle == 0);  // the idle sibling was closed at once
    CHECK(s.open == 1);  // only the one still leased
    CHECK(s.closed == 2);
    CHECK(script().live_connections == 1);

    older.reset();  // opened before the failure: closed on return, not pooled
    CHECK(p.stats().idle == 0);
    CHECK(script().live_connections == 0);

    auto fresh = p.acquire();
    CHECK(script().connects == 4);
    CHECK(fresh->state() == connection_state::idle);
}

TEST_CASE("without validate_after_failure only the broken connection goes", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 2, .validate_after_failure = false});
    auto a = p.acquire();
    p.acquire().reset();  // one idle
    script().fail_execute = testing::fake_disconnect;
    CHECK_THROWS_AS(a->execute("SELECT 1"), connection_error);  // outside a transaction: closed
    CHECK(a->state() == connection_state::closed);
    a.reset();
    const pool_stats s = p.stats();
    CHECK(s.generation == 0);
    CHECK(s.idle == 1);
    CHECK(s.closed == 1);
}

TEST_CASE("a lease returned inside a transaction is rolled back before reuse", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 1});
    {
        auto c = p.acquire();
        auto tx = c->begin();
        c->execute("INSERT INTO t VALUES (1)");
        c.reset();  // mid-transaction
        CHECK(script().rollbacks == 1);
    }  // the transaction object finds its transaction gone and does nothing
    CHECK(script().rollbacks == 1);
    auto c = p.acquire();
    CHECK(c->state() == connection_state::idle);
    CHECK(script().connects == 1);
    CHECK(p.stats().generation == 0);

    SECTION("a rollback that fails with the connection alive closes it, without invalidating") {
        auto tx = c->begin();
        script().fail_rollback = testing::fake_syntax;
        c.reset();
        CHECK(script().live_connections == 0);
        CHECK(p.stats().generation == 0);
        CHECK(p.stats().closed == 1);
    }
    SECTION("a rollback that finds the connection lost closes it and invalidates") {
        auto tx = c->begin();
        script().fail_rollback = testing::fake_disconnect;
        c.reset();
        CHECK(script().live_connections == 0);
        CHECK(p.stats().generation == 1);
    }
}

TEST_CASE("connections past max_lifetime or idle_timeout are closed, not handed out", "[pool]") {
    auto db = fake_database();
    SECTION("max_lifetime, at acquire") {
        pool p(db, {.max_size = 2, .max_lifetime = 30ms, .idle_timeout = 0ms});
        p.acquire().reset();
        std::this_thread::sleep_for(80ms);  // past the bound; not used to synchronise
        auto c = p.acquire();
        CHECK(script().connects == 2);
        CHECK(p.stats().closed == 1);
        CHECK(script().live_connections == 1);
    }
    SECTION("max_lifetime, at return") {
        pool p(db, {.max_size = 2, .max_lifetime = 30ms, .idle_timeout = 0ms});
        auto c = p.acquire();
        std::this_thread::sleep_for(80ms);
        c.reset();
        CHECK(p.stats().idle == 0);
        CHECK(script().live_connections == 0);
    }
    SECTION("idle_timeout") {
        pool p(db, {.max_size = 2, .max_lifetime = 0ms, .idle_timeout = 30ms});
        {
            auto a = p.acquire();
            auto b = p.acquire();
        }
        CHECK(p.stats().idle == 2);
        std::this_thread::sleep_for(80ms);
        auto c = p.acquire();  // both idle ones are stale: closed, and a new one opened
        CHECK(script().connects == 3);
        CHECK(p.stats().closed == 2);
        CHECK(script().live_connections == 1);
    }
    SECTION("idle_timeout retires the longest-idle connection in passing, down to min_idle") {
        pool p(db, {.max_size = 3, .min_idle = 1, .max_lifetime = 0ms, .idle_timeout = 30ms});
        auto a = p.acquire();
        auto b = p.acquire();
        auto c = p.acquire();
        a.reset();  // bottom of the idle stack
        b.reset();
        std::this_thread::sleep_for(80ms);
        c.reset();  // returning retires the longest idle (a), one per return
        CHECK(script().live_connections == 2);
        CHECK(p.stats().closed == 1);
        CHECK(p.stats().idle == 2);
    }
    SECTION("min_idle stops the retiring in passing") {
        pool p(db, {.max_size = 2, .min_idle = 2, .max_lifetime = 0ms, .idle_timeout = 30ms});
        auto a = p.acquire();
        auto b = p.acquire();
        a.reset();
        std::this_thread::sleep_for(80ms);
        b.reset();
        CHECK(script().live_connections == 2);
        CHECK(p.stats().closed == 0);
    }
}

TEST_CASE("a failed open propagates and frees its slot", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 1, .acquire_timeout = 50ms});
    script().fail_connect = testing::fake_refused;
    error e = caught([&] { auto c = p.acquire(); });
    CHECK(e.kind() == errc::connect_failed);
    script().fail_connect = testing::fake_refused;
    CHECK_THROWS_AS(p.acquire(), connection_error);
    pool_stats s = p.stats();
    CHECK(s.open == 0);
    CHECK(s.in_use == 0);
    CHECK(s.created == 0);
    auto c = p.acquire();  // the slot is free again: no timeout
    CHECK(p.stats().created == 1);
}

TEST_CASE("a slot freed by a failed open goes to a waiter", "[pool][concurrency]") {
    auto db = counted_db();
    pool p(db, {.max_size = 1, .acquire_timeout = 30s});
    std::optional<pool::lease> held = p.acquire();
    bool got = false;
    std::thread waiter([&] {
        auto c = p.acquire();
        got = c->state() == connection_state::idle;
    });
    REQUIRE(wait_for_waiters(p, 1));
    held->discard();  // closing frees the slot: the waiter opens its own connection
    waiter.join();
    CHECK(got);
    CHECK(counted().connects.load() == 2);
    CHECK(p.stats().closed == 1);
}

TEST_CASE("stats add up", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 4});
    auto a = p.acquire();
    auto b = p.acquire();
    std::optional<pool::lease> c = p.acquire();
    c.reset();
    pool_stats s = p.stats();
    CHECK(s.open == 3);
    CHECK(s.in_use == 2);
    CHECK(s.idle == 1);
    CHECK(s.waiting == 0);
    CHECK(s.created == 3);
    CHECK(s.closed == 0);
    b.discard();
    CHECK_FALSE(b);
    s = p.stats();
    CHECK(s.open == 2);
    CHECK(s.in_use == 1);
    CHECK(s.closed == 1);
    CHECK(s.generation == 0);  // discarding a healthy connection invalidates nothing
    CHECK(s.open == s.idle + s.in_use);
    CHECK(s.created - s.closed == s.open);
}

TEST_CASE("close_idle and invalidate hold no connection opened before them", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 3});
    auto leased = p.acquire();
    p.acquire().reset();
    CHECK(p.stats().idle == 1);

    p.close_idle();
    CHECK(p.stats().idle == 0);
    CHECK(script().live_connections == 1);
    CHECK(p.stats().generation == 0);

    p.invalidate();
    CHECK(p.stats().generation == 1);
    CHECK(script().live_connections == 1);  // leased: untouched until it comes back
    leased.reset();
    CHECK(script().live_connections == 0);
    CHECK(p.stats().open == 0);
}

TEST_CASE("fill opens min_idle connections", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 4, .min_idle = 2});
    p.fill();
    CHECK(p.stats().idle == 2);
    CHECK(script().connects == 2);
    p.fill();
    CHECK(script().connects == 2);
    CHECK_THROWS_AS(pool(db, {.max_size = 0}), usage_error);
    CHECK_THROWS_AS(pool(db, {.max_size = 1, .min_idle = 2}), usage_error);
}

TEST_CASE("a lease may outlive its pool", "[pool]") {
    auto db = fake_database();
    std::optional<pool> p(std::in_place, db, pool_options{.max_size = 2});
    auto c = p->acquire();
    p->acquire().reset();
    p.reset();  // closes the idle one
    CHECK(script().live_connections == 1);
    c->execute("SELECT 1");
    pool::lease moved = std::move(c);
    CHECK_FALSE(c);
    moved.reset();  // the pool is gone: the connection closes
    CHECK(script().live_connections == 0);
}

TEST_CASE("invalidation racing acquires and returns keeps the books straight", "[pool][concurrency]") {
    auto db = counted_db();
    pool p(db, {.max_size = 3, .acquire_timeout = 30s});
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 300; ++i) {
                auto c = p.acquire();
                c->execute("SELECT 1");
                if ((i + t) % 17 == 0) c.discard();
            }
        });
    std::thread invalidator([&] {
        while (!stop.load()) {
            p.invalidate();
            std::this_thread::yield();
            p.close_idle();
            (void)p.stats();
        }
    });
    for (auto& t : threads) t.join();
    stop = true;
    invalidator.join();
    const pool_stats s = p.stats();
    CHECK(counted().high_water.load() <= 3);
    CHECK(s.in_use == 0);
    CHECK(s.waiting == 0);
    CHECK(s.open == s.idle);
    CHECK(s.created - s.closed == s.open);
    CHECK(counted().live.load() == static_cast<int>(s.open));
}

TEST_CASE("a connection idle past validate_idle_after is pinged before it is handed out", "[pool]") {
    auto db = fake_database();
    SECTION("a connection used moments ago is handed out unpinged; an idle one is pinged") {
        pool p(db, {.max_size = 2, .validate_idle_after = 30ms});
        p.acquire().reset();
        p.acquire().reset();
        CHECK(script().pings == 0);
        std::this_thread::sleep_for(80ms);  // past the threshold; not used to synchronise
        auto c = p.acquire();
        CHECK(script().pings == 1);
        CHECK(script().connects == 1);  // the same connection, vouched for
        CHECK(p.stats().validations_failed == 0);
    }
    SECTION("zero turns validation off") {
        pool p(db, {.max_size = 2, .validate_idle_after = 0ms});
        p.acquire().reset();
        std::this_thread::sleep_for(40ms);
        p.acquire().reset();
        CHECK(script().pings == 0);
    }
}

TEST_CASE("a pooled connection whose ping fails is closed, never handed out, and the pool invalidated", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 3, .validate_idle_after = 30ms});
    {
        auto a = p.acquire();
        auto b = p.acquire();
    }
    REQUIRE(p.stats().idle == 2);
    std::this_thread::sleep_for(80ms);
    script().fail_ping = testing::fake_disconnect;  // the server dropped the idle sessions
    auto c = p.acquire();
    CHECK(c->state() == connection_state::idle);
    c->execute("SELECT 1");  // a working connection, opened after the failure
    pool_stats s = p.stats();
    CHECK(s.validations_failed == 1);
    CHECK(s.generation == 1);
    CHECK(s.closed == 2);  // the one whose ping failed, and its idle sibling
    CHECK(s.open == 1);
    CHECK(s.in_use == 1);
    CHECK(script().connects == 3);
    CHECK(script().live_connections == 1);
}

TEST_CASE("a failed validation frees its slot; without validate_after_failure nothing else is closed", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 1, .acquire_timeout = 5s, .validate_idle_after = 30ms, .validate_after_failure = false});
    p.acquire().reset();
    std::this_thread::sleep_for(80ms);
    script().fail_ping = testing::fake_disconnect;
    auto c = p.acquire();  // ping fails: closed, slot freed, a new connection opened in it
    CHECK(script().connects == 2);
    CHECK(p.stats().open == 1);
    CHECK(p.stats().generation == 0);  // validate_after_failure off: no invalidation
}

TEST_CASE("a lease whose begin() reconnected in place invalidates the pool and is counted", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 3, .validate_idle_after = 0ms});
    {
        auto a = p.acquire();
        auto b = p.acquire();
    }
    REQUIRE(p.stats().idle == 2);
    {
        auto c = p.acquire();
        const std::uint64_t before = c->session_count();
        script().fail_begin = testing::fake_disconnect;  // the server restarted while it was idle
        auto tx = c->begin();                            // finds the session dead, reconnects, begins
        tx.commit();
        CHECK(c->session_count() == before + 1);
    }
    pool_stats s = p.stats();
    CHECK(s.generation == 1);  // the lost session says the siblings are stale too
    CHECK(s.created == 3);     // two opened, plus the session opened in place
    CHECK(s.closed == 2);      // the lost session, and the idle sibling
    CHECK(s.open == 1);
    CHECK(s.idle == 1);        // the reconnected one is fresh and stays
    CHECK(script().live_connections == 1);
    auto again = p.acquire();
    CHECK(script().connects == 3);  // handed out again, not reopened
}

TEST_CASE("a session reopened inside a lease is closed on return if the pool was invalidated meanwhile", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 2, .validate_idle_after = 0ms});
    {
        auto c = p.acquire();
        script().fail_begin = testing::fake_disconnect;
        auto tx = c->begin();  // reconnects in place
        tx.commit();
        p.invalidate();  // a failover, say: nothing opened before now may be handed out again
    }
    CHECK(p.stats().idle == 0);
    CHECK(p.stats().open == 0);
    CHECK(script().live_connections == 0);
}

TEST_CASE("a ping that fails but leaves the connection usable closes only that connection", "[pool]") {
    auto db = fake_database();
    pool p(db, {.max_size = 3, .validate_idle_after = 30ms});
    {
        auto a = p.acquire();
        auto b = p.acquire();
    }
    std::this_thread::sleep_for(80ms);  // past the threshold; not used to synchronise
    script().fail_ping = testing::fake_serialization;  // an error, but the connection is not lost
    auto c = p.acquire();
    const pool_stats s = p.stats();
    CHECK(s.validations_failed == 1);
    CHECK(s.generation == 0);  // not a loss: the sibling is not suspect
    CHECK(s.idle == 1);
    CHECK(s.closed == 1);
    CHECK(script().connects == 3);  // a new one opened in the closed one's slot
}
