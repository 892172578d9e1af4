// SPDX-License-Identifier: MIT
// Point select by primary key over loopback PostgreSQL: switchboard beside raw libpq PQexecPrepared, same binary, same server.
//
// Needs a server: SWITCHBOARD_TEST_PG_URL (tests/support/servers.sh env). Each side fills its
// own TEMP table of 10,000 rows (id bigint primary key, n bigint, v text) with the same data,
// then looks rows up by a pseudo-random key. Raw libpq does what an application does by
// hand: a prepared statement, the key as text, PQexecPrepared with text results, both
// columns read, PQclear.
//
// Wall time: run the binary and compare the medians of the two benchmarks; or, steadier on a
// busy machine, `postgresql_point_select_bench --compare R` alternates blocks of 500 queries
// of each side for R rounds in one process and prints the median time per query of each
// and their ratio. Instructions per query
// (client side only; the server is another process): `postgresql_point_select_bench --count
// raw|switchboard N` runs exactly N queries and exits, so tests/bench/run_callgrind.sh
// computes (I(2N) - I(N)) / N under valgrind --tool=callgrind.
#include <switchboard/connection.hpp>

#include "point_select_harness.hpp"

#include <benchmark/benchmark.h>
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <vector>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

constexpr std::int64_t row_count = 10000;
constexpr const char* create_sql = "CREATE TEMP TABLE t (id BIGINT PRIMARY KEY, n BIGINT NOT NULL, v TEXT NOT NULL)";
// The same rows on both sides: n = 3 id, v = "value-" (id * 7919 mod 100003), as in the SQLite bench.
constexpr const char* fill_sql =
    "INSERT INTO t (id, n, v) SELECT g, g * 3, 'value-' || (g * 7919 % 100003) FROM generate_series(1, 10000) g";

const char* url() {
    const char* u = std::getenv("SWITCHBOARD_TEST_PG_URL");
    if (u == nullptr || *u == '\0') {
        std::fprintf(stderr,
                     "SWITCHBOARD_TEST_PG_URL is not set: start the test servers with\n"
                     "  bash tests/support/servers.sh start && eval \"$(bash tests/support/servers.sh env)\"\n");
        std::exit(2);
    }
    return u;
}

// ---- raw libpq -----------------------------------------------------------------------------

struct raw_db {
    PGconn* conn = nullptr;

    void exec(const char* sql) {
        PGresult* r = PQexec(conn, sql);
        const ExecStatusType s = PQresultStatus(r);
        PQclear(r);
        if (s != PGRES_COMMAND_OK) throw std::runtime_error(std::string("raw libpq: ") + PQerrorMessage(conn));
    }

    raw_db() {
        // A URI is a conninfo string to libpq (libpq-connect.html §34.1.1.2).
        conn = PQconnectdb(url());
        if (PQstatus(conn) != CONNECTION_OK) throw std::runtime_error(std::string("raw libpq: ") + PQerrorMessage(conn));
        exec(create_sql);
        exec(fill_sql);
        exec("ANALYZE t");
        PGresult* r = PQprepare(conn, "point", "SELECT n, v FROM t WHERE id = $1", 1, nullptr);
        const ExecStatusType s = PQresultStatus(r);
        PQclear(r);
        if (s != PGRES_COMMAND_OK) throw std::runtime_error(std::string("raw libpq: ") + PQerrorMessage(conn));
    }
    ~raw_db() { PQfinish(conn); }

    std::size_t lookup(std::int64_t id) {
        char key[24];
        *std::to_chars(key, key + sizeof key - 1, id).ptr = '\0';
        const char* values[1] = {key};
        PGresult* r = PQexecPrepared(conn, "point", 1, values, nullptr, nullptr, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            PQclear(r);
            throw std::runtime_error("row missing");
        }
        std::int64_t n = 0;
        const char* nt = PQgetvalue(r, 0, 0);
        std::from_chars(nt, nt + PQgetlength(r, 0, 0), n);
        const char* v = PQgetvalue(r, 0, 1);
        const int len = PQgetlength(r, 0, 1);
        const std::size_t out = static_cast<std::size_t>(n) + static_cast<std::size_t>(len) + static_cast<unsigned char>(v[0]);
        PQclear(r);
        return out;
    }
};

// ---- switchboard ---------------------------------------------------------------------------

struct switchboard_db {
    switchboard::database db{url()};
    switchboard::connection conn = db.connect();

    switchboard_db() {
        conn.execute(create_sql);
        conn.execute(fill_sql);
        conn.execute("ANALYZE t");
    }

    // The same work through the public API: cached statement, bound key, typed reads.
    std::size_t lookup(std::int64_t id) {
        switchboard::result r = conn.query("SELECT n, v FROM t WHERE id = ?", id);
        if (!r.next()) throw std::runtime_error("row missing");
        const switchboard::row& row = r.current();
        const auto n = row.get<std::int64_t>(0);
        const auto v = row.get<std::string_view>(1);
        return static_cast<std::size_t>(n) + v.size() + static_cast<unsigned char>(v[0]);
    }
};

void BM_postgresql_point_select_raw(benchmark::State& state) { switchboard::bench::point_select<raw_db>(state, row_count); }
void BM_postgresql_point_select_switchboard(benchmark::State& state) {
    switchboard::bench::point_select<switchboard_db>(state, row_count);
}

// Repeated: a loopback round trip drifts with the machine's load, so compare the medians.
BENCHMARK(BM_postgresql_point_select_raw)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_postgresql_point_select_switchboard)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace

int main(int argc, char** argv) {
    (void)url();  // fail early, with the message, before benchmark prints its header
    return switchboard::bench::point_select_main<raw_db, switchboard_db>(argc, argv, row_count, "raw libpq");
}
