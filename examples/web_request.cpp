// SPDX-License-Identifier: MIT
// An interactive request: fail fast when the database is down, and answer with one clear error.
//
//   web_request [URL]      (default: $SWITCHBOARD_TEST_PG_URL, from tests/support/servers.sh env)
#include <switchboard/switchboard.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

// What a web handler does with a unit of work: one attempt at connecting, no waiting, and a
// status code the client can act on.
int handle_request(const switchboard::database& db, std::int64_t user_id) {
    using namespace switchboard;
    try {
        connection conn(db, reconnect_policy::fail_fast());
        auto tx = conn.begin(tx_mode::read);
        const auto id = conn.query_value<std::int64_t>("SELECT ? + 0", user_id);
        tx.commit();
        std::cout << "200 OK: user " << id << "\n";
        return 200;
    } catch (const connection_error& e) {
        // The database is unreachable or went away: tell the client to retry later, now.
        std::cout << "503 Service Unavailable: " << to_string(e.kind()) << " (" << e.database()
                  << "), retry later\n";
        return 503;
    } catch (const transaction_error& e) {
        std::cout << "409 Conflict: " << to_string(e.kind()) << ", retry the request\n";
        return 409;
    } catch (const error& e) {
        std::cout << "500 Internal Server Error: " << e.what() << "\n";
        return 500;
    }
}

}  // namespace

int main(int argc, char** argv) {
    const char* url = argc > 1 ? argv[1] : std::getenv("SWITCHBOARD_TEST_PG_URL");
    if (url == nullptr) {
        std::cerr << "usage: web_request URL (or start the test servers and eval their env)\n";
        return 2;
    }
    try {
        // The URL's password never shows in to_string() or in any message.
        switchboard::database db(url, {.name = "web"});
        std::cout << "database " << db.to_string() << "\n";
        return handle_request(db, 42) == 200 ? 0 : 1;
    } catch (const switchboard::error& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
}
