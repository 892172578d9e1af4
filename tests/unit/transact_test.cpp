// SPDX-License-Identifier: MIT
// transact() against the scripted fake backend: which errors re-run the unit of work, and how often.
#include "support/caught.hpp"
#include "support/fake_backend.hpp"

#include <switchboard/transact.hpp>

#include <catch2/catch.hpp>

#include <chrono>

using namespace switchboard;
using namespace std::chrono_literals;
using switchboard::testing::script;
using switchboard::testing::caught;
using switchboard::testing::fake_database;

namespace {

transact_options quick(unsigned attempts = 5) {
    transact_options o;
    o.max_attempts = attempts;
    o.initial_delay = 1ms;
    o.max_delay = 2ms;
    return o;
}

}  // namespace

TEST_CASE("transact commits a unit of work that succeeds and returns its value", "[transact]") {
    auto db = fake_database();
    connection c = db.connect();
    int runs = 0;
    const int v = transact(c, [&](connection& conn) {
        ++runs;
        conn.execute("INSERT 1");
        return 42;
    });
    CHECK(v == 42);
    CHECK(runs == 1);
    CHECK(script().commits == 1);
    CHECK(c.state() == connection_state::idle);
}

TEST_CASE("a serialization failure rolls back and re-runs the whole unit of work", "[transact]") {
    auto db = fake_database();
    connection c = db.connect();
    int runs = 0;
    transact(
        c,
        [&](connection& conn) {
            ++runs;
            conn.execute("SELECT balance");
            if (runs == 1) script().fail_execute = testing::fake_serialization;
            conn.execute("UPDATE balance");
        },
        quick());
    CHECK(runs == 2);
    CHECK(script().rollbacks == 1);  // a real ROLLBACK: the connection was alive
    CHECK(script().commits == 1);
    CHECK(script().executed ==
          std::vector<std::string>{"SELECT balance", "UPDATE balance", "SELECT balance", "UPDATE balance"});
}

TEST_CASE("a disconnection before COMMIT re-runs the work on a new connection", "[transact]") {
    auto db = fake_database();
    connection c = db.connect();
    int runs = 0;
    transact(
        c,
        [&](connection& conn) {
            if (++runs == 1) script().fail_execute = testing::fake_disconnect;
            conn.execute("INSERT 1");
        },
        quick());
    CHECK(runs == 2);
    CHECK(script().connects == 2);  // begin() reconnected
    CHECK(script().commits == 1);
}

TEST_CASE("re-runs stop at max_attempts and the last error propagates", "[transact]") {
    auto db = fake_database();
    connection c = db.connect();
    int runs = 0;
    try {
        transact(
            c,
            [&](connection& conn) {
                ++runs;
                script().fail_execute = testing::fake_serialization;
                conn.execute("UPDATE x");
            },
            quick(3));
        FAIL("expected the serialization error");
    } catch (const transaction_error& e) {
        CHECK(e.kind() == errc::serialization);
    }
    CHECK(runs == 3);
    CHECK(script().commits == 0);
    CHECK(c.state() == connection_state::idle);
}

TEST_CASE("an error that re-running cannot cure propagates at once", "[transact]") {
    auto db = fake_database();
    connection c = db.connect();
    int runs = 0;
    CHECK_THROWS_AS(transact(
                        c,
                        [&](connection& conn) {
                            ++runs;
                            script().fail_execute = testing::fake_syntax;
                            conn.execute("SELEC");
                        },
                        quick()),
                    statement_error);
    CHECK(runs == 1);
    CHECK(script().rollbacks == 1);
}

TEST_CASE("a lost COMMIT is re-run only for work declared idempotent", "[transact]") {
    auto db = fake_database();
    connection c = db.connect();
    int runs = 0;
    auto work = [&](connection& conn) {
        if (++runs == 1) script().fail_commit = testing::fake_disconnect;
        conn.execute("UPSERT 1");
    };
    try {
        transact(c, work, quick());
        FAIL("expected commit_outcome_unknown");
    } catch (const connection_error& e) {
        CHECK(e.kind() == errc::commit_outcome_unknown);
    }
    CHECK(runs == 1);

    runs = 0;
    transact_options idempotent = quick();
    idempotent.idempotent = true;
    transact(c, work, idempotent);
    CHECK(runs == 2);
    CHECK(script().commits == 3);  // the lost one, then the first and second runs of this call
}

TEST_CASE("exceptions that are not switchboard errors pass through without a re-run", "[transact]") {
    auto db = fake_database();
    connection c = db.connect();
    int runs = 0;
    CHECK_THROWS_AS(transact(c, [&](connection&) {
                        ++runs;
                        throw std::runtime_error("application bug");
                    }),
                    std::runtime_error);
    CHECK(runs == 1);
    CHECK(script().rollbacks == 1);
    CHECK(c.state() == connection_state::idle);
}
