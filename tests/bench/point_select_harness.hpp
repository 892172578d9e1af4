// SPDX-License-Identifier: MIT
// The shared driver of the point-select benchmarks: key sequence, timing modes, callgrind counts.
//
// Each <db>_point_select_bench defines a raw_db (the native client by hand) and a
// switchboard_db (the same work through the public API), both with
// `std::size_t lookup(std::int64_t id)`, and calls point_select_main(). Modes:
//   (no argument)               Google Benchmark, both sides in the same run
//   --compare R                 R alternating blocks of 500 queries per side, medians: steadier
//                               than back-to-back runs on a busy machine
//   --count raw|switchboard N   exactly N queries, for callgrind: instructions per query are
//                               (I(2N) - I(N)) / N, see run_callgrind.sh
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace switchboard::bench {

/// The same pseudo-random sequence of keys in 1..rows for both sides.
class key_sequence {
public:
    explicit key_sequence(std::int64_t rows) noexcept : rows_(rows) {}
    std::int64_t next() noexcept {
        state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<std::int64_t>((state_ >> 33) % static_cast<std::uint64_t>(rows_)) + 1;
    }

private:
    std::uint64_t state_ = 0x9E3779B97F4A7C15ull;
    std::int64_t rows_;
};

template <class Db>
void point_select(benchmark::State& state, std::int64_t rows) {
    Db db;
    key_sequence keys(rows);
    for (auto _ : state) benchmark::DoNotOptimize(db.lookup(keys.next()));
    state.SetItemsProcessed(state.iterations());
}

template <class Db>
int run_counted(long count, std::int64_t rows) {
    Db db;
    key_sequence keys(rows);
    std::size_t sink = 0;
    for (long i = 0; i < count; ++i) sink += db.lookup(keys.next());
    return sink == 42 ? 1 : 0;
}

// Alternating blocks, so both sides see the same drift of the machine and the server.
template <class Raw, class Switchboard>
int run_compare(long rounds, std::int64_t rows, const char* raw_name) {
    Raw raw;
    Switchboard sb;
    key_sequence raw_keys(rows), sb_keys(rows);
    constexpr int block = 500;
    std::vector<double> raw_ns, sb_ns;
    std::size_t sink = 0;
    const auto time_block = [&](auto& db, key_sequence& keys) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < block; ++i) sink += db.lookup(keys.next());
        return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / block;
    };
    for (int i = 0; i < 4; ++i) {  // warm both
        time_block(raw, raw_keys);
        time_block(sb, sb_keys);
    }
    for (long r = 0; r < rounds; ++r) {
        if (r % 2 == 0) {
            raw_ns.push_back(time_block(raw, raw_keys));
            sb_ns.push_back(time_block(sb, sb_keys));
        } else {
            sb_ns.push_back(time_block(sb, sb_keys));
            raw_ns.push_back(time_block(raw, raw_keys));
        }
    }
    const auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    const double r = median(raw_ns), s = median(sb_ns);
    std::printf("%s: %.0f ns/query (median of %ld blocks of %d)\n", raw_name, r, rounds, block);
    std::printf("switchboard: %.0f ns/query\n", s);
    std::printf("ratio switchboard/raw: %.3f\n", s / r);
    return sink == 42 ? 1 : 0;
}

/// Runs the mode the arguments ask for; Google Benchmark when none.
template <class Raw, class Switchboard>
int point_select_main(int argc, char** argv, std::int64_t rows, const char* raw_name) {
    if (argc == 3 && std::strcmp(argv[1], "--compare") == 0)
        return run_compare<Raw, Switchboard>(std::max(1L, std::strtol(argv[2], nullptr, 10)), rows, raw_name);
    if (argc == 4 && std::strcmp(argv[1], "--count") == 0) {
        const long count = std::strtol(argv[3], nullptr, 10);
        if (std::strcmp(argv[2], "raw") == 0) return run_counted<Raw>(count, rows);
        if (std::strcmp(argv[2], "switchboard") == 0) return run_counted<Switchboard>(count, rows);
        return 2;
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

}  // namespace switchboard::bench
