// SPDX-License-Identifier: MIT
// Point select by primary key over loopback MariaDB: switchboard beside raw Connector/C prepared statements, same binary.
//
// Needs the test server: `tests/support/servers.sh start && eval "$(tests/support/servers.sh env)"`
// sets SWITCHBOARD_TEST_MYSQL_URL (no ctest smoke run for that reason). Both sides query the
// same table of 10,000 rows (id BIGINT PRIMARY KEY, n BIGINT, v VARCHAR(64)), made by this
// process under a unique name and dropped at exit, with the same pseudo-random keys.
//
// Wall time: run the binary; compare the two benchmarks of one run. Instructions per query
// (client side only; the server is another process): `mysql_point_select_bench --count
// raw|switchboard N` runs exactly N queries and exits, so the per-query cost is
// (I(2N) - I(N)) / N under valgrind --tool=callgrind (tests/bench/run_callgrind.sh).
#include <switchboard/connection.hpp>
#include <switchboard/database.hpp>
#include <switchboard/url.hpp>

#include "point_select_harness.hpp"

#include <benchmark/benchmark.h>
#include <mysql.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

constexpr std::int64_t row_count = 10000;
constexpr int rows_per_insert = 100;

std::string text_for(std::int64_t id) { return "value-" + std::to_string(id * 7919 % 100003); }

const std::string& server_url() {
    static const std::string url = [] {
        const char* u = std::getenv("SWITCHBOARD_TEST_MYSQL_URL");
        if (u == nullptr || *u == '\0') {
            std::fprintf(stderr,
                         "SWITCHBOARD_TEST_MYSQL_URL is not set: start the test server with\n"
                         "  tests/support/servers.sh start && eval \"$(tests/support/servers.sh env)\"\n");
            std::exit(2);
        }
        return std::string(u);
    }();
    return url;
}

[[noreturn]] void die(const char* what, MYSQL* m) {
    std::fprintf(stderr, "%s: %s\n", what, m != nullptr ? mysql_error(m) : "");
    std::exit(3);
}
[[noreturn]] void die(const char* what, MYSQL_STMT* s) {
    std::fprintf(stderr, "%s: %s\n", what, mysql_stmt_error(s));
    std::exit(3);
}

// A raw Connector/C connection with the settings the backend uses (no reconnect, utf8mb4).
MYSQL* raw_connect() {
    const switchboard::url u = switchboard::url::parse(server_url());
    MYSQL* m = mysql_init(nullptr);
    const my_bool off = 0;
    mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const auto& h = u.hosts().front();
    if (mysql_real_connect(m, h.host.c_str(), u.user().value_or("").c_str(), u.password().value_or("").c_str(),
                           u.database().c_str(), h.port.value_or(0), nullptr, 0) == nullptr)
        die("connect", m);
    return m;
}

// The table both sides read: made by main() before any benchmark, dropped when main returns.
struct bench_table {
    std::string name = "sb_bench_point_" + std::to_string(::getpid());

    bench_table() {
        MYSQL* m = raw_connect();
        const std::string create =
            "CREATE TABLE " + name + " (id BIGINT PRIMARY KEY, n BIGINT NOT NULL, v VARCHAR(64) NOT NULL)";
        if (mysql_real_query(m, create.data(), create.size()) != 0) die("create", m);
        std::string insert = "INSERT INTO " + name + " (id, n, v) VALUES ";
        for (int i = 0; i < rows_per_insert; ++i) insert += i == 0 ? "(?, ?, ?)" : ", (?, ?, ?)";
        MYSQL_STMT* s = mysql_stmt_init(m);
        if (mysql_stmt_prepare(s, insert.data(), insert.size()) != 0) die("prepare insert", s);
        std::vector<MYSQL_BIND> b(3 * rows_per_insert);
        std::vector<std::int64_t> ids(rows_per_insert), ns(rows_per_insert);
        std::vector<std::string> vs(rows_per_insert);
        std::vector<unsigned long> lens(rows_per_insert);
        if (mysql_real_query(m, "START TRANSACTION", 17) != 0) die("begin", m);
        for (std::int64_t base = 1; base <= row_count; base += rows_per_insert) {
            std::memset(b.data(), 0, b.size() * sizeof(MYSQL_BIND));
            for (int i = 0; i < rows_per_insert; ++i) {
                ids[i] = base + i;
                ns[i] = (base + i) * 3;
                vs[i] = text_for(base + i);
                lens[i] = vs[i].size();
                b[3 * i].buffer_type = MYSQL_TYPE_LONGLONG;
                b[3 * i].buffer = &ids[i];
                b[3 * i + 1].buffer_type = MYSQL_TYPE_LONGLONG;
                b[3 * i + 1].buffer = &ns[i];
                b[3 * i + 2].buffer_type = MYSQL_TYPE_STRING;
                b[3 * i + 2].buffer = vs[i].data();
                b[3 * i + 2].length = &lens[i];
            }
            if (mysql_stmt_bind_param(s, b.data()) != 0 || mysql_stmt_execute(s) != 0) die("insert", s);
        }
        mysql_stmt_close(s);
        if (mysql_real_query(m, "COMMIT", 6) != 0) die("commit", m);
        mysql_close(m);
    }
    ~bench_table() {
        MYSQL* m = raw_connect();
        const std::string drop = "DROP TABLE IF EXISTS " + name;
        mysql_real_query(m, drop.data(), drop.size());
        mysql_close(m);
    }
};

const bench_table* the_table = nullptr;

std::string select_sql() { return "SELECT n, v FROM " + the_table->name + " WHERE id = ?"; }

// ---- raw Connector/C -----------------------------------------------------------------------

struct raw_db {
    MYSQL* m = raw_connect();
    MYSQL_STMT* select = nullptr;
    std::int64_t key = 0;
    std::int64_t n = 0;
    char v[256];
    unsigned long v_length = 0;
    my_bool n_null = 0, v_null = 0;

    raw_db() {
        const std::string sql = select_sql();
        select = mysql_stmt_init(m);
        if (mysql_stmt_prepare(select, sql.data(), sql.size()) != 0) die("prepare", select);
        // What a careful application does by hand: bind the key and the two result buffers once.
        MYSQL_BIND param{};
        param.buffer_type = MYSQL_TYPE_LONGLONG;
        param.buffer = &key;
        if (mysql_stmt_bind_param(select, &param) != 0) die("bind_param", select);
        MYSQL_BIND result[2]{};
        result[0].buffer_type = MYSQL_TYPE_LONGLONG;
        result[0].buffer = &n;
        result[0].is_null = &n_null;
        result[1].buffer_type = MYSQL_TYPE_STRING;
        result[1].buffer = v;
        result[1].buffer_length = sizeof v;
        result[1].length = &v_length;
        result[1].is_null = &v_null;
        if (mysql_stmt_bind_result(select, result) != 0) die("bind_result", select);
    }
    ~raw_db() {
        mysql_stmt_close(select);
        mysql_close(m);
    }

    // Execute, fetch the row, read both columns, free the result (which reads the end of it).
    std::size_t lookup(std::int64_t id) {
        key = id;
        if (mysql_stmt_execute(select) != 0) die("execute", select);
        if (mysql_stmt_fetch(select) != 0) die("fetch", select);
        const std::size_t out = static_cast<std::size_t>(n) + v_length + static_cast<unsigned char>(v[0]);
        mysql_stmt_free_result(select);
        return out;
    }
};

// ---- switchboard ---------------------------------------------------------------------------

struct switchboard_db {
    switchboard::database db{server_url()};
    switchboard::connection conn = db.connect();
    std::string sql = select_sql();

    // The same work through the public API: cached statement, bound key, typed reads.
    std::size_t lookup(std::int64_t id) {
        switchboard::result r = conn.query(sql, id);
        if (!r.next()) throw std::runtime_error("row missing");
        const switchboard::row& row = r.current();
        const auto n = row.get<std::int64_t>(0);
        const auto v = row.get<std::string_view>(1);
        return static_cast<std::size_t>(n) + v.size() + static_cast<unsigned char>(v[0]);
    }
};

void BM_mysql_point_select_raw(benchmark::State& state) { switchboard::bench::point_select<raw_db>(state, row_count); }
void BM_mysql_point_select_switchboard(benchmark::State& state) {
    switchboard::bench::point_select<switchboard_db>(state, row_count);
}

BENCHMARK(BM_mysql_point_select_raw);
BENCHMARK(BM_mysql_point_select_switchboard);

}  // namespace

int main(int argc, char** argv) {
    (void)server_url();  // a clear message, before anything else, if the server is not configured
    const bench_table table;
    the_table = &table;
    return switchboard::bench::point_select_main<raw_db, switchboard_db>(argc, argv, row_count, "raw Connector/C");
}
