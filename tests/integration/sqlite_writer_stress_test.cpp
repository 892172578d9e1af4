// SPDX-License-Identifier: MIT
// Many threads doing read-then-write units on one SQLite file: none fail behind the writer lock, many without it.
#include <switchboard/connection.hpp>
#include <switchboard/database.hpp>
#include <switchboard/error.hpp>
#include <switchboard/plugin_registry.hpp>
#include <switchboard/sqlite/sqlite.hpp>

#include <catch2/catch.hpp>

#include <chrono>
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

constexpr int thread_count = 8;
constexpr int units_per_thread = 500;
constexpr int key_count = 50;  // every key is touched by 80 units: one insert, then updates

struct temp_database {
    fs::path file;
    explicit temp_database(const std::string& stem) {
        const auto seed = std::random_device{}();
        std::printf("sqlite writer stress: %s seed %u\n", stem.c_str(), seed);
        file = fs::temp_directory_path() / ("switchboard-" + stem + "-" + std::to_string(seed) + ".db");
    }
    ~temp_database() {
        std::error_code ec;
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(file.string() + suffix, ec);
    }
};

struct run_outcome {
    std::map<std::string, std::int64_t> committed;  // units committed, by key
    std::map<errc, int> errors;                     // failed units, by kind
    std::vector<std::string> unexpected;            // messages of errors of any other kind
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
    {
        auto setup = db.connect();
        setup.execute("CREATE TABLE counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL)");
    }
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
                        ++out.errors[e.kind()];
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
        total.unexpected.insert(total.unexpected.end(), o.unexpected.begin(), o.unexpected.end());
    }
    return total;
}

std::map<std::string, std::int64_t> table_contents(const switchboard::database& db) {
    std::map<std::string, std::int64_t> rows;
    auto conn = db.connect();
    for (const auto& r : conn.query("SELECT key, count FROM counters"))
        rows[r.get<std::string>(0)] = r.get<std::int64_t>(1);
    return rows;
}

struct registry_with_sqlite {
    switchboard::plugin_registry registry;
    registry_with_sqlite() {
        registry.use_environment(false);
        registry.use_default_directories(false);
        registry.register_static(switchboard::sqlite::descriptor);
    }
    switchboard::database open(const fs::path& file, const std::string& options) {
        switchboard::database_options o;
        o.registry = &registry;
        return switchboard::database("sqlite://" + file.string() + options, o);
    }
};

}  // namespace

TEST_CASE("sqlite write transactions behind the writer lock never fail under contention",
          "[sqlite][concurrency][writer_lock]") {
    registry_with_sqlite sqlite;
    temp_database temp("writer-lock-on");
    const auto db = sqlite.open(temp.file, "");
    const run_outcome out = run(db, static_cast<unsigned>(temp.file.string().size()));
    std::printf("sqlite writer stress, writer lock on: %d units in %.2f s, %d errors\n",
                thread_count * units_per_thread, out.seconds, out.error_total());

    for (const std::string& m : out.unexpected) UNSCOPED_INFO(m);
    CHECK(out.error_total() == 0);
    CHECK(out.unexpected.empty());
    // Every unit committed exactly once: every key counts exactly the units that chose it.
    std::map<std::string, std::int64_t> expected;
    for (int n = 0; n < thread_count * units_per_thread; ++n)
        ++expected["k" + std::to_string((n + temp.file.string().size()) % key_count)];
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
    const int lock_errors = out.errors.count(errc::lock_timeout) ? out.errors.at(errc::lock_timeout) : 0;
    const int serialization_errors = out.errors.count(errc::serialization) ? out.errors.at(errc::serialization) : 0;
    std::printf("sqlite writer stress, deferred without writer lock: %d units in %.2f s, %d errors "
                "(%d serialization, %d lock_timeout)\n",
                thread_count * units_per_thread, out.seconds, out.error_total(), serialization_errors, lock_errors);

    for (const std::string& m : out.unexpected) UNSCOPED_INFO(m);
    CHECK(out.unexpected.empty());
    CHECK(lock_errors + serialization_errors > 0);  // the proof
    // Failed units were rolled back whole; the committed ones all count: no lost update.
    std::int64_t committed = 0;
    for (const auto& [key, n] : out.committed) committed += n;
    CHECK(committed + out.error_total() == thread_count * units_per_thread);
    CHECK(table_contents(db) == out.committed);
}
