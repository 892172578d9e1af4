// SPDX-License-Identifier: MIT
// Pool acquire + release (RAII lease) over in-memory SQLite connections, beside a plain mutex + condition_variable pool.
//
// No statement runs: each iteration is one acquire and one release of an idle connection.
// Cases: uncontended (one thread), and two threads contending for one pool of 2 or of 8
// connections. The floor is the simplest correct pool a user would write by hand: a mutex, a
// condition variable and a vector of connections, same connections, same binary.
//
// Instructions per acquire + release, which repeat on a noisy machine:
// `pool_bench --count switchboard|plain N` does exactly N uncontended acquire + release pairs
// and exits, so the per-pair cost is (I(2N) - I(N)) / N under valgrind --tool=callgrind.
#include <switchboard/pool.hpp>

#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace {

constexpr const char* url = "sqlite::memory:";

// ---- the floor: a plain mutex + condition_variable pool -------------------------------------

class plain_pool {
public:
    class lease {
    public:
        lease(plain_pool& p, std::unique_ptr<switchboard::connection> c) : pool_(&p), conn_(std::move(c)) {}
        lease(lease&&) = default;
        ~lease() {
            if (conn_) pool_->put(std::move(conn_));
        }
        switchboard::connection* operator->() const noexcept { return conn_.get(); }
        switchboard::connection& operator*() const noexcept { return *conn_; }

    private:
        plain_pool* pool_;
        std::unique_ptr<switchboard::connection> conn_;
    };

    plain_pool(const switchboard::database& db, std::size_t size) {
        for (std::size_t i = 0; i < size; ++i) idle_.push_back(std::make_unique<switchboard::connection>(db));
    }
    lease acquire() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !idle_.empty(); });
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return lease(*this, std::move(c));
    }

private:
    void put(std::unique_ptr<switchboard::connection> c) {
        {
            std::lock_guard lock(mutex_);
            idle_.push_back(std::move(c));
        }
        cv_.notify_one();
    }
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<switchboard::connection>> idle_;
};

// ---- switchboard::pool, warmed up to `size` open connections --------------------------------

std::unique_ptr<switchboard::pool> make_pool(const switchboard::database& db, std::size_t size) {
    auto p = std::make_unique<switchboard::pool>(db, switchboard::pool_options{.max_size = size, .min_idle = size});
    p->fill();
    return p;
}

const switchboard::database& db() {
    static const switchboard::database d{url};
    return d;
}

template <class Pool>
void acquire_release(benchmark::State& state, Pool& p) {
    for (auto _ : state) {
        auto c = p.acquire();
        benchmark::DoNotOptimize(&*c);
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_pool_uncontended_switchboard(benchmark::State& state) {
    auto p = make_pool(db(), 1);
    acquire_release(state, *p);
}
void BM_pool_uncontended_plain(benchmark::State& state) {
    plain_pool p(db(), 1);
    acquire_release(state, p);
}

// Contended cases: one pool shared by the benchmark's threads, made before they start.
std::unique_ptr<switchboard::pool> shared_switchboard;
std::unique_ptr<plain_pool> shared_plain;

void setup_switchboard(const benchmark::State& state) {
    shared_switchboard = make_pool(db(), static_cast<std::size_t>(state.range(0)));
}
void teardown_switchboard(const benchmark::State&) { shared_switchboard.reset(); }
void setup_plain(const benchmark::State& state) {
    shared_plain = std::make_unique<plain_pool>(db(), static_cast<std::size_t>(state.range(0)));
}
void teardown_plain(const benchmark::State&) { shared_plain.reset(); }

void BM_pool_contended_switchboard(benchmark::State& state) { acquire_release(state, *shared_switchboard); }
void BM_pool_contended_plain(benchmark::State& state) { acquire_release(state, *shared_plain); }

BENCHMARK(BM_pool_uncontended_plain);
BENCHMARK(BM_pool_uncontended_switchboard);
BENCHMARK(BM_pool_contended_plain)->Arg(2)->Arg(8)->Threads(2)->Setup(setup_plain)->Teardown(teardown_plain)->UseRealTime();
BENCHMARK(BM_pool_contended_switchboard)
    ->Arg(2)
    ->Arg(8)
    ->Threads(2)
    ->Setup(setup_switchboard)
    ->Teardown(teardown_switchboard)
    ->UseRealTime();

template <class Pool>
int run_counted(Pool& p, long count) {
    std::size_t sink = 0;
    for (long i = 0; i < count; ++i) {
        auto c = p.acquire();
        sink += reinterpret_cast<std::uintptr_t>(&*c) & 1;
    }
    return sink == 42 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::strcmp(argv[1], "--count") == 0) {
        const long count = std::strtol(argv[3], nullptr, 10);
        if (std::strcmp(argv[2], "switchboard") == 0) {
            auto p = make_pool(db(), 1);
            return run_counted(*p, count);
        }
        if (std::strcmp(argv[2], "plain") == 0) {
            plain_pool p(db(), 1);
            return run_counted(p, count);
        }
        return 2;
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
