// SPDX-License-Identifier: MIT
// The SQLite in-process writer lock: re-entrancy, timeouts that never let a caller in, hand-over, per-file identity.
#include "writer_lock.hpp"

#include <switchboard/error.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
using switchboard::sqlite::writer_lock;
using clock_type = std::chrono::steady_clock;

namespace {

// Polls a condition the lock exposes (its wait queue) with a deadline: the waiter's state is
// observed, never assumed after a sleep.
template <class F>
bool eventually(F condition, std::chrono::milliseconds limit = 10s) {
    const auto deadline = clock_type::now() + limit;
    while (!condition()) {
        if (clock_type::now() > deadline) return false;
        std::this_thread::yield();
    }
    return true;
}

}  // namespace

TEST_CASE("writer lock is re-entrant for the thread that holds it", "[sqlite][writer_lock]") {
    writer_lock lock("/test/reentrant.db");
    REQUIRE(lock.try_lock_for(0ms));
    REQUIRE(lock.try_lock_for(0ms));  // again, from the same thread: no wait, no deadlock
    CHECK(lock.held_by_this_thread());

    lock.unlock();  // one level left: still held
    CHECK(lock.held_by_this_thread());
    CHECK_FALSE(std::async(std::launch::async, [&] { return lock.try_lock_for(0ms); }).get());

    lock.unlock();  // free now
    CHECK_FALSE(lock.held_by_this_thread());
    CHECK(std::async(std::launch::async, [&] {
              const bool got = lock.try_lock_for(0ms);
              if (got) lock.unlock();
              return got;
          }).get());
}

TEST_CASE("writer lock times out with lock_timeout and never lets the waiter in", "[sqlite][writer_lock]") {
    writer_lock lock("/test/timeout.db");
    REQUIRE(lock.try_lock_for(0ms));

    // Catch2 assertions are not thread-safe: the waiter reports, the test thread checks.
    struct outcome {
        bool entered = false;
        std::optional<switchboard::error> error;
        clock_type::duration elapsed{};
    };
    constexpr auto timeout = 150ms;
    auto waiter = std::async(std::launch::async, [&] {
        outcome o;
        const auto start = clock_type::now();
        try {
            lock.lock(timeout, "main");
            o.entered = true;
            lock.unlock();
        } catch (const switchboard::error& e) {
            o.error = e;
        }
        o.elapsed = clock_type::now() - start;
        return o;
    });
    const outcome o = waiter.get();
    CHECK_FALSE(o.entered);
    REQUIRE(o.error);
    CHECK(o.error->kind() == switchboard::errc::lock_timeout);
    CHECK(o.error->is_transient());
    CHECK(o.error->connection_usable());
    CHECK(o.error->backend() == "sqlite");
    CHECK(o.error->database() == "main");
    CHECK_THAT(o.error->message(), Catch::Contains("/test/timeout.db") && Catch::Contains("150 ms"));
    CHECK(o.elapsed >= timeout);
    CHECK(o.elapsed < timeout + 5s);  // generous: a loaded CI machine under TSan
    CHECK(lock.held_by_this_thread());
    CHECK(lock.waiting() == 0);  // the timed-out waiter left the queue
    lock.unlock();
}

TEST_CASE("writer lock release hands the lock to a waiting thread", "[sqlite][writer_lock]") {
    writer_lock lock("/test/handover.db");
    REQUIRE(lock.try_lock_for(0ms));
    std::atomic<bool> released{false};

    auto waiter = std::async(std::launch::async, [&] {
        const bool got = lock.try_lock_for(30s);  // bounded; the release below comes much sooner
        const bool after_release = released.load();
        const bool holds = lock.held_by_this_thread();
        if (got) lock.unlock();
        return std::tuple{got, after_release, holds};
    });
    REQUIRE(eventually([&] { return lock.waiting() == 1; }));  // it is queued, not yet holding

    const auto start = clock_type::now();
    released = true;
    lock.unlock();
    REQUIRE(waiter.wait_for(10s) == std::future_status::ready);
    const auto [got, after_release, holds] = waiter.get();
    CHECK(got);
    CHECK(after_release);
    CHECK(holds);
    CHECK(clock_type::now() - start < 10s);
}

TEST_CASE("writer lock serves waiters in arrival order", "[sqlite][writer_lock]") {
    writer_lock lock("/test/fifo.db");
    REQUIRE(lock.try_lock_for(0ms));
    std::vector<int> order;  // written only by the holder of the lock
    std::vector<std::future<void>> waiters;  // each one's destructor joins
    for (int i = 0; i < 4; ++i) {
        waiters.push_back(std::async(std::launch::async, [&, i] {
            if (!lock.try_lock_for(30s)) return;  // shows as a missing entry in `order`
            order.push_back(i);
            lock.unlock();
        }));
        REQUIRE(eventually([&] { return lock.waiting() == static_cast<std::size_t>(i + 1); }));
    }
    lock.unlock();
    for (auto& w : waiters) REQUIRE(w.wait_for(10s) == std::future_status::ready);
    CHECK(order == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("writer lock admits one holder at a time under contention", "[sqlite][writer_lock][concurrency]") {
    writer_lock lock("/test/contention.db");
    std::atomic<int> inside{0};
    std::atomic<int> overlaps{0};
    std::atomic<int> entries{0};
    std::atomic<int> timeouts{0};
    std::atomic<int> nested_failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) {
                // Short timeouts so that some attempts fail; a failed one must not enter.
                if (!lock.try_lock_for(std::chrono::milliseconds(i % 3))) {
                    ++timeouts;
                    continue;
                }
                if (inside.fetch_add(1) != 0) ++overlaps;
                if (i % 5 == 0) {  // a nested level inside the critical section never waits
                    if (lock.try_lock_for(0ms)) lock.unlock();
                    else ++nested_failures;
                }
                ++entries;
                inside.fetch_sub(1);
                lock.unlock();
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(overlaps == 0);
    CHECK(nested_failures == 0);
    CHECK(entries + timeouts == 8 * 2000);
    CHECK(entries > 0);
    CHECK(lock.waiting() == 0);
    CHECK(lock.try_lock_for(0ms));  // left free
    lock.unlock();
}

TEST_CASE("writer lock is one object per database file, whatever the spelling", "[sqlite][writer_lock]") {
    namespace fs = std::filesystem;
    const auto seed = std::random_device{}();
    INFO("seed " << seed);
    const fs::path dir = fs::temp_directory_path() / ("switchboard-writer-lock-" + std::to_string(seed));
    fs::create_directories(dir / "sub");
    struct cleanup {
        fs::path p;
        ~cleanup() {
            std::error_code ec;
            fs::remove_all(p, ec);
        }
    } remove_dir{dir};
    std::ofstream(dir / "a.db").put('x');
    fs::create_symlink(dir / "a.db", dir / "link.db");

    auto a = writer_lock::for_file((dir / "a.db").string());
    CHECK(writer_lock::for_file((dir / "sub" / ".." / "a.db").string()) == a);
    CHECK(writer_lock::for_file((dir / "link.db").string()) == a);  // realpath follows the link
    CHECK(a->path() == fs::canonical(dir / "a.db").string());

    // A file that does not exist yet: its directory's real path plus its name.
    auto fresh = writer_lock::for_file((dir / "sub" / ".." / "new.db").string());
    CHECK(fresh != a);
    CHECK(fresh->path() == (fs::canonical(dir) / "new.db").string());
    CHECK(writer_lock::for_file((dir / "new.db").string()) == fresh);

    // Relative paths are taken from the current directory.
    const fs::path cwd = fs::current_path();
    fs::current_path(dir);
    auto relative = writer_lock::for_file("a.db");
    fs::current_path(cwd);
    CHECK(relative == a);

    // The registry keeps no lock alive on its own.
    std::weak_ptr<writer_lock> weak = fresh;
    fresh.reset();
    CHECK(weak.expired());
}
