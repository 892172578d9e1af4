// SPDX-License-Identifier: MIT
// Many threads doing read-then-write units on one SQLite file: none fail behind the writer lock, many without it.
#include "support/sqlite_fixture.hpp"

#include <switchboard/connection.hpp>
#include <switchboard/database.hpp>
#include <switchboard/error.hpp>
#include <switchboard/plugin_registry.hpp>
#include <switchboard/sqlite/sqlite.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <latch>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using switchboard::errc;
using switchboard::testing::registry_with_sqlite;
using switchboard::testing::temp_database;

constexpr int thread_count = 8;
constexpr int units_per_thread = 500;
constexpr int key_count = 50;  // every key is touched by 80 units: one insert, then updates

struct run_outcome {
    std::map<std::string, std::int64_t> committed;  // units committed, by key
    std::map<errc, int> errors;                     // failed units, by kind
    std::vector<std::string> unexpected;            // messages of errors of any other kind
    std::map<errc, std::string> sample;             // the first message of each kind
    double seconds = 0;
    int error_total() const {
        int n = 0;
        for (const auto& [kind, count] : errors) n += count;
        return n;
    }
};

// One "update or create" unit: read the counter, then update it or insert it, in one write
// transaction. A deferred transaction reads at one snapshot and writes later, which is the
// pattern that fails without BEGIN IMMEDIATE.
void unit(switchboard::connection& conn, const std::string& key) {
    auto tx = conn.begin(switchboard::tx_mode::write);
    std::optional<std::int64_t> count;
    {
        auto r = conn.query("SELECT count FROM counters WHERE key = ?", key);
        if (r.next()) count = r.current().get<std::int64_t>(0);
    }
    if (count) conn.execute("UPDATE counters SET count = count + 1 WHERE key = ?", key);
    else conn.execute("INSERT INTO counters(key, count) VALUES (?, 1)", key);
    tx.commit();
}

run_outcome run(const switchboard::database& db, unsigned key_offset) {
    // Kept open, idle, for the whole run: the WAL and its index stay initialised, so the
    // threads' connections never meet a WAL recovery (the first open after the last close),
    // which with busy_timeout=0 could fail them at connect rather than in a unit.
    auto setup = db.connect();
    setup.execute("CREATE TABLE counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL)");
    std::vector<run_outcome> per_thread(thread_count);
    std::latch start(thread_count + 1);
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            run_outcome& out = per_thread[static_cast<std::size_t>(t)];
            try {
                auto conn = db.connect();
                start.arrive_and_wait();
                for (int i = 0; i < units_per_thread; ++i) {
                    // Interleaved so that all threads work on the same few keys at once.
                    const std::string key = "k" + std::to_string((i * thread_count + t + key_offset) % key_count);
                    try {
                        unit(conn, key);
                        ++out.committed[key];
                    } catch (const switchboard::error& e) {
                        if (++out.errors[e.kind()] == 1) out.sample[e.kind()] = e.what();
                        if (e.kind() != errc::lock_timeout && e.kind() != errc::serialization)
                            out.unexpected.push_back(e.what());
                    }
                }
            } catch (const std::exception& e) {
                out.unexpected.push_back(std::string("thread setup: ") + e.what());
            }
        });
    }
    const auto began = std::chrono::steady_clock::now();
    start.arrive_and_wait();
    for (auto& th : threads) th.join();

    run_outcome total;
    total.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    for (const run_outcome& o : per_thread) {
        for (const auto& [key, n] : o.committed) total.committed[key] += n;
        for (const auto& [kind, n] : o.errors) total.errors[kind] += n;
        total.sample.insert(o.sample.begin(), o.sample.end());
        total.unexpected.insert(total.unexpected.end(), o.unexpected.begin(), o.unexpected.end());
    }
    return total;
}

long milliseconds(const run_outcome& out) { return std::lround(out.seconds * 1000); }

int count_of(const run_outcome& out, errc kind) {
    const auto it = out.errors.find(kind);
    return it == out.errors.end() ? 0 : it->second;
}

// How many units of a run chose each key: what the table holds when every unit committed.
std::map<std::string, std::int64_t> all_units(unsigned key_offset) {
    std::map<std::string, std::int64_t> expected;
    for (int n = 0; n < thread_count * units_per_thread; ++n)
        ++expected["k" + std::to_string((n + key_offset) % key_count)];
    return expected;
}

std::map<std::string, std::int64_t> table_contents(const switchboard::database& db) {
    std::map<std::string, std::int64_t> rows;
    auto conn = db.connect();
    for (const auto& r : conn.query("SELECT key, count FROM counters"))
        rows[r.get<std::string>(0)] = r.get<std::int64_t>(1);
    return rows;
}

}  // namespace

TEST_CASE("sqlite write transactions behind the writer lock never fail under contention",
          "[sqlite][concurrency][writer_lock]") {
    registry_with_sqlite sqlite;
    temp_database temp("writer-lock-on");
    const auto db = sqlite.open(temp.file, "");
    const run_outcome out = run(db, static_cast<unsigned>(temp.file.string().size()));
    WARN("sqlite writer stress, writer lock on: " << thread_count * units_per_thread << " units in "
         << milliseconds(out) << " ms, " << out.error_total() << " errors");

    for (const auto& [kind, m] : out.sample) UNSCOPED_INFO(m);
    for (const std::string& m : out.unexpected) UNSCOPED_INFO(m);
    CHECK(out.error_total() == 0);
    CHECK(out.unexpected.empty());
    // Every unit committed exactly once: every key counts exactly the units that chose it.
    const auto expected = all_units(static_cast<unsigned>(temp.file.string().size()));
    CHECK(out.committed == expected);
    CHECK(table_contents(db) == expected);
}

TEST_CASE("sqlite deferred write transactions without the writer lock fail with lock errors",
          "[sqlite][concurrency][writer_lock]") {
    // What the defaults prevent: BEGIN (deferred) reads at one snapshot and upgrades at its
    // first write, where another connection's commit makes it fail (SQLITE_BUSY_SNAPSHOT,
    // SQLITE_BUSY) no matter how long the busy timeout is (reliability.md 1.4).
    registry_with_sqlite sqlite;
    temp_database temp("writer-lock-off");
    const auto db = sqlite.open(temp.file, "?write_begin=deferred&writer_lock=off&busy_timeout=20");
    const run_outcome out = run(db, 0);
    const int lock_errors = count_of(out, errc::lock_timeout);
    const int serialization_errors = count_of(out, errc::serialization);
    WARN("sqlite writer stress, deferred without writer lock: " << thread_count * units_per_thread << " units in "
         << milliseconds(out) << " ms, " << out.error_total() << " errors (" << serialization_errors
         << " serialization, " << lock_errors << " lock_timeout)");

    for (const std::string& m : out.unexpected) UNSCOPED_INFO(m);
    CHECK(out.unexpected.empty());
    CHECK(lock_errors + serialization_errors > 0);  // the proof
    // Failed units were rolled back whole; the committed ones all count: no lost update.
    std::int64_t committed = 0;
    for (const auto& [key, n] : out.committed) committed += n;
    CHECK(committed + out.error_total() == thread_count * units_per_thread);
    CHECK(table_contents(db) == out.committed);
}

// The pair above changes three settings at once (BEGIN, writer lock, busy timeout), so it
// proves what BEGIN IMMEDIATE does. This pair changes only the writer lock. With no busy
// timeout, SQLite's BEGIN IMMEDIATE fails at once with SQLITE_BUSY whenever another
// connection holds the write lock: only the in-process writer lock keeps them from meeting.
// writer_lock_timeout is given, as it defaults to busy_timeout: 0 ms would make the writer
// lock itself refuse every writer that finds it taken.
constexpr const char* no_busy_timeout = "?busy_timeout=0&writer_lock_timeout=10000";

TEST_CASE("sqlite writer lock alone keeps write transactions from failing with no busy timeout",
          "[sqlite][concurrency][writer_lock]") {
    registry_with_sqlite sqlite;
    temp_database temp("writer-lock-busy0");
    const auto db = sqlite.open(temp.file, no_busy_timeout);
    const auto key_offset = static_cast<unsigned>(temp.file.string().size());
    const run_outcome out = run(db, key_offset);
    WARN("sqlite writer stress, busy_timeout=0, writer lock on: " << thread_count * units_per_thread << " units in "
         << milliseconds(out) << " ms, " << out.error_total() << " errors");

    for (const auto& [kind, m] : out.sample) UNSCOPED_INFO(m);
    for (const std::string& m : out.unexpected) UNSCOPED_INFO(m);
    CHECK(out.error_total() == 0);
    CHECK(out.unexpected.empty());
    CHECK(out.committed == all_units(key_offset));
    CHECK(table_contents(db) == all_units(key_offset));
}

TEST_CASE("sqlite write transactions with no busy timeout and no writer lock fail with lock errors",
          "[sqlite][concurrency][writer_lock]") {
    registry_with_sqlite sqlite;
    temp_database temp("no-writer-lock-busy0");
    const auto db = sqlite.open(temp.file, std::string(no_busy_timeout) + "&writer_lock=off");
    const run_outcome out = run(db, 0);
    const int lock_errors = count_of(out, errc::lock_timeout);
    WARN("sqlite writer stress, busy_timeout=0, writer lock off: " << thread_count * units_per_thread << " units in "
         << milliseconds(out) << " ms, " << out.error_total() << " errors (" << lock_errors << " lock_timeout, "
         << count_of(out, errc::serialization) << " serialization)");

    for (const std::string& m : out.unexpected) UNSCOPED_INFO(m);
    CHECK(out.unexpected.empty());
    CHECK(lock_errors > 0);  // the proof: BEGIN IMMEDIATE met another writer
    // Failed units were rolled back whole; the committed ones all count: no lost update.
    std::int64_t committed = 0;
    for (const auto& [key, n] : out.committed) committed += n;
    CHECK(committed + out.error_total() == thread_count * units_per_thread);
    CHECK(table_contents(db) == out.committed);
}
