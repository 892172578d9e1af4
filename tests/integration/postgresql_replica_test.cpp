// SPDX-License-Identifier: MIT
// PostgreSQL streaming replica: it replicates, reports itself a standby, and refuses writes with read_only.
#include "support/server_urls.hpp"

#include <switchboard/connection.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <random>
#include <thread>

using namespace switchboard;
using switchboard::testing::server_url;

namespace {
std::string unique_table() {
    static const unsigned seed = std::random_device{}();
    static int n = 0;
    return "sb_replica_" + std::to_string(seed % 1000000) + "_" + std::to_string(++n);
}
}  // namespace

TEST_CASE("the replica reports itself a standby and the primary a primary", "[postgresql][replica]") {
    connection primary = database(server_url("SWITCHBOARD_TEST_PG_URL")).connect();
    connection replica = database(server_url("SWITCHBOARD_TEST_PG_REPLICA_URL")).connect();
    CHECK(primary.server().role == server_role::primary);
    const server_identity id = replica.server();
    CHECK(id.role == server_role::standby);
    CHECK(id.port != 0);
    CHECK_FALSE(id.version.empty());
}

TEST_CASE("a write on the replica fails with read_only and leaves the connection usable", "[postgresql][replica]") {
    connection primary = database(server_url("SWITCHBOARD_TEST_PG_URL")).connect();
    const std::string t = unique_table();
    primary.execute("CREATE TABLE " + t + " (id BIGINT PRIMARY KEY, v TEXT)");
    primary.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 1, "one");

    connection replica = database(server_url("SWITCHBOARD_TEST_PG_REPLICA_URL")).connect();
    // Streaming replication is asynchronous: wait, bounded, for the row to arrive.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::int64_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        try {
            seen = replica.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t);
            if (seen == 1) break;
        } catch (const statement_error&) {  // the table itself has not arrived yet
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(seen == 1);

    try {
        replica.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 2, "two");
        FAIL("a write on a standby must fail");
    } catch (const error& e) {
        CHECK(e.kind() == errc::read_only);
        CHECK(e.sqlstate() == "25006");
        CHECK(e.connection_usable());
    }
    CHECK(replica.query_value<std::string>("SELECT v FROM " + t + " WHERE id = ?", 1) == "one");
    primary.execute("DROP TABLE " + t);
}
