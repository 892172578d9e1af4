// SPDX-License-Identifier: MIT
// Point select by primary key on in-memory SQLite: switchboard beside raw sqlite3, same binary, same data.
//
// Wall time: run the binary; compare the two benchmarks of one run (ratio printed by
// tests/bench/run_callgrind.sh too). Instructions per query, which repeat on a noisy
// machine: `sqlite_point_select_bench --count raw|switchboard N` runs exactly N queries and
// exits, so the per-query cost is (I(2N) - I(N)) / N under valgrind --tool=callgrind.
#include <switchboard/connection.hpp>

#include "point_select_harness.hpp"

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

constexpr std::int64_t row_count = 10000;
constexpr const char* create_sql = "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, v TEXT NOT NULL)";
constexpr const char* insert_sql = "INSERT INTO t (id, n, v) VALUES (?, ?, ?)";
constexpr const char* select_sql = "SELECT n, v FROM t WHERE id = ?";

std::string text_for(std::int64_t id) { return "value-" + std::to_string(id * 7919 % 100003); }

// ---- raw sqlite3 ---------------------------------------------------------------------------

struct raw_db {
    sqlite3* db = nullptr;
    sqlite3_stmt* select = nullptr;

    raw_db() {
        if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
            throw std::runtime_error("sqlite3_open_v2 failed");
        sqlite3_exec(db, create_sql, nullptr, nullptr, nullptr);
        sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
        sqlite3_stmt* ins = nullptr;
        sqlite3_prepare_v3(db, insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &ins, nullptr);
        for (std::int64_t id = 1; id <= row_count; ++id) {
            const std::string v = text_for(id);
            sqlite3_bind_int64(ins, 1, id);
            sqlite3_bind_int64(ins, 2, id * 3);
            sqlite3_bind_text(ins, 3, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
            sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        sqlite3_finalize(ins);
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
        sqlite3_prepare_v3(db, select_sql, -1, SQLITE_PREPARE_PERSISTENT, &select, nullptr);
    }
    ~raw_db() {
        sqlite3_finalize(select);
        sqlite3_close_v2(db);
    }

    // What an application does by hand: bind, step, read both columns, reset.
    std::size_t lookup(std::int64_t id) {
        sqlite3_bind_int64(select, 1, id);
        if (sqlite3_step(select) != SQLITE_ROW) throw std::runtime_error("row missing");
        const std::int64_t n = sqlite3_column_int64(select, 0);
        const auto* v = sqlite3_column_text(select, 1);
        const int len = sqlite3_column_bytes(select, 1);
        const std::size_t out = static_cast<std::size_t>(n) + static_cast<std::size_t>(len) + (v ? v[0] : 0);
        sqlite3_reset(select);
        return out;
    }
};

// ---- switchboard ---------------------------------------------------------------------------

struct switchboard_db {
    switchboard::database db{"sqlite::memory:"};
    switchboard::connection conn = db.connect();

    switchboard_db() {
        conn.execute(create_sql);
        auto tx = conn.begin();
        for (std::int64_t id = 1; id <= row_count; ++id) conn.execute(insert_sql, id, id * 3, text_for(id));
        tx.commit();
    }

    // The same work through the public API: cached statement, bound key, typed reads.
    std::size_t lookup(std::int64_t id) {
        switchboard::result r = conn.query(select_sql, id);
        if (!r.next()) throw std::runtime_error("row missing");
        const switchboard::row& row = r.current();
        const auto n = row.get<std::int64_t>(0);
        const auto v = row.get<std::string_view>(1);
        return static_cast<std::size_t>(n) + v.size() + static_cast<unsigned char>(v[0]);
    }
};

void BM_sqlite_point_select_raw(benchmark::State& state) { switchboard::bench::point_select<raw_db>(state, row_count); }
void BM_sqlite_point_select_switchboard(benchmark::State& state) {
    switchboard::bench::point_select<switchboard_db>(state, row_count);
}

BENCHMARK(BM_sqlite_point_select_raw);
BENCHMARK(BM_sqlite_point_select_switchboard);

}  // namespace

int main(int argc, char** argv) {
    return switchboard::bench::point_select_main<raw_db, switchboard_db>(argc, argv, row_count, "raw sqlite3");
}
