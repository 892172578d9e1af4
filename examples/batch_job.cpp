// SPDX-License-Identifier: MIT
// A batch job: ride over database restarts with backoff until a deadline, and re-run each unit of work on conflicts.
//
//   batch_job [URL] [N]    (default: $SWITCHBOARD_TEST_PG_URL, N = 1000)
// Restart the server while it runs (tests/support/servers.sh restart-pg): the job carries on.
#include <switchboard/switchboard.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

namespace {

// Logs what the job rode over: lost connections, reconnect attempts, re-runs. One line per
// event on stderr; no password or bound value ever reaches an event.
struct log_outages final : switchboard::event_observer {
    void on_event(const switchboard::event& e) noexcept override {
        using switchboard::event_kind;
        if (e.kind == event_kind::connected && !e.reconnect) return;  // the first connect is not news
        std::clog << "[" << e.db->name() << "] " << switchboard::to_string(e.kind);
        if (e.kind == event_kind::connected)
            std::clog << " again after " << e.attempt << " attempt(s), "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(e.elapsed).count() << " ms";
        if (e.attempt != 0 && e.kind != event_kind::connected) std::clog << " (attempt " << e.attempt << ")";
        if (e.delay.count() != 0) std::clog << ", next in " << e.delay.count() << " ms";
        if (e.cause != nullptr) std::clog << ": " << switchboard::to_string(e.cause->kind()) << ": " << e.cause->message();
        std::clog << "\n";
    }
};

}  // namespace

int main(int argc, char** argv) {
    using namespace switchboard;
    using namespace std::chrono_literals;
    const char* url = argc > 1 ? argv[1] : std::getenv("SWITCHBOARD_TEST_PG_URL");
    const long n = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 1000;
    if (url == nullptr) {
        std::cerr << "usage: batch_job URL [N] (or start the test servers and eval their env)\n";
        return 2;
    }
    try {
        database db(url, {.name = "batch", .observer = std::make_shared<log_outages>()});
        // Every (re)connect of this thread retries with backoff for up to five minutes.
        reconnect_scope patient(reconnect_policy::backoff(5min, 50ms, 2s));
        connection conn = db.connect();
        conn.execute("CREATE TABLE IF NOT EXISTS batch_job_counter (k BIGINT PRIMARY KEY, n BIGINT NOT NULL)");

        transact_options once_per_key;
        once_per_key.max_attempts = 10;
        once_per_key.idempotent = true;  // re-running sets the same value: safe after a lost COMMIT
        const auto started = std::chrono::steady_clock::now();
        for (long k = 0; k < n; ++k) {
            transact(
                conn,
                [&](connection& c) {
                    // Decide what to write inside the unit of work, so a re-run decides again.
                    const auto found = c.query_value<std::int64_t>(
                        "SELECT COUNT(*) FROM batch_job_counter WHERE k = ?", static_cast<std::int64_t>(k));
                    if (found == 0)
                        c.execute("INSERT INTO batch_job_counter (k, n) VALUES (?, ?)", static_cast<std::int64_t>(k), k);
                    else
                        c.execute("UPDATE batch_job_counter SET n = ? WHERE k = ?", k, static_cast<std::int64_t>(k));
                },
                once_per_key);
        }
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
        std::cout << n << " units of work in " << ms << " ms; rows: "
                  << conn.query_value<std::int64_t>("SELECT COUNT(*) FROM batch_job_counter") << "\n";
        conn.execute("DROP TABLE batch_job_counter");
        return 0;
    } catch (const error& e) {
        std::cerr << "batch job stopped: " << to_string(e.kind()) << ": " << e.what() << "\n";
        return 1;
    }
}
