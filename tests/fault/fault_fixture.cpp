// SPDX-License-Identifier: MIT
#include "fault/fault_fixture.hpp"

#include "support/server_urls.hpp"

#include <switchboard/connection.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>

namespace switchboard::testing {

std::string fault_server_url() {
    const char* which = std::getenv("SWITCHBOARD_FAULT_URL");
    if (which == nullptr || *which != '$') FAIL("SWITCHBOARD_FAULT_URL is not set: run the fault tests through ctest");
    return server_url(which + 1);
}

const database& direct() {
    static const database db(fault_server_url());
    return db;
}

bool is_postgresql() { return direct().backend_name() == "postgresql"; }

std::string commit_message() {
    if (is_postgresql()) return std::string("Q\0\0\0\x0b" "COMMIT\0", 12);
    return std::string("\x07\0\0\0\x03" "COMMIT", 11);
}

proxied::proxied(std::string_view extra_options)
    : proxy("127.0.0.1", direct().location().hosts().at(0).port.value()), db(via_proxy(extra_options)) {}

std::string proxied::via_proxy(std::string_view extra) const {
    const url& u = direct().location();
    std::string s = u.scheme() + "://" + u.user().value_or("") + ":" + u.password().value_or("") +
                    "@127.0.0.1:" + std::to_string(proxy.port()) + "/" + u.database() + "?sb.name=proxied";
    if (is_postgresql()) s += "&sslmode=disable&connect_timeout=2";
    else s += "&connect_timeout=2";
    if (!extra.empty()) (s += '&') += extra;
    return s;
}

namespace {
std::string unique_table() {
    static const unsigned seed = std::random_device{}();
    static int n = 0;
    return "sb_fault_" + std::to_string(seed % 1000000) + "_" + std::to_string(++n);
}
}  // namespace

table::table() : name(unique_table()) {
    direct().connect().execute("CREATE TABLE " + name + " (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)");
}

table::~table() {
    try {
        direct().connect().execute("DROP TABLE " + name);
    } catch (...) {  // best effort: the server may be down at the end of a failed test
    }
}

std::int64_t table::rows() const {
    return direct().connect().query_value<std::int64_t>("SELECT COUNT(*) FROM " + name);
}

void table::fill(int n) const {
    connection w = direct().connect();
    auto tx = w.begin();
    for (int i = 0; i < n; ++i) w.execute(insert_sql(), i, i);
    tx.commit();
}

std::int64_t session_id(connection& c) {
    return c.query_value<std::int64_t>(is_postgresql() ? "SELECT pg_backend_pid()" : "SELECT CONNECTION_ID()");
}

std::string sleep_sql(int seconds) {
    return (is_postgresql() ? "SELECT pg_sleep(" : "SELECT SLEEP(") + std::to_string(seconds) + ")";
}

bool sleeping(connection& monitor, std::int64_t id) {
    return monitor.query_value<std::int64_t>(
               is_postgresql() ? "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ? AND wait_event = 'PgSleep'"
                               : "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND STATE = "
                                 "'User sleep'",
               id) != 0;
}

}  // namespace switchboard::testing
