// SPDX-License-Identifier: MIT
// An in-memory backend with scripted failures, for unit tests of core without any server.
#pragma once

#include <switchboard/database.hpp>
#include <switchboard/plugin_registry.hpp>
#include <switchboard/spi/backend.hpp>

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace switchboard::testing {

/// An owned column value of a scripted row.
using fake_value = std::variant<null_t, bool, std::int64_t, double, std::string, bytes>;

/// Native codes the fake classifier understands.
enum fake_code : long long {
    fake_disconnect = 1,    ///< disconnected, connection unusable
    fake_serialization = 2, ///< serialization, transient
    fake_syntax = 3,        ///< syntax
    fake_refused = 4,       ///< connect refused: connect_failed, transient
    fake_auth = 5,          ///< authentication failed: connect_failed, not transient
};

/// What the fake backend does and has done. One per process (the descriptor's factory has no
/// context); tests call reset() first. Single-threaded use only.
struct fake_script {
    // Rows returned by a query, by exact SQL text; statements not listed return no rows.
    std::map<std::string, std::vector<std::vector<fake_value>>, std::less<>> rows;
    std::map<std::string, std::vector<std::string>, std::less<>> columns;
    // The next call of that kind fails with this code (then the slot clears).
    std::optional<long long> fail_connect, fail_prepare, fail_execute, fail_fetch, fail_begin, fail_commit, fail_rollback,
        fail_ping;
    // The next scripted failure also says the server ended the transaction.
    bool end_transaction_on_failure = false;
    // The next scripted failure also says the statement never reached the server.
    bool not_sent_on_failure = false;
    // The next scripted failure also says it came while reading another open result.
    bool in_other_result_on_failure = false;
    // Named locks held, by name: lock() increments, unlock() decrements.
    std::map<std::string, int, std::less<>> locks;
    // The next N connects fail with this code (fake_refused unless set otherwise).
    int failing_connects = 0;
    long long failing_connect_code = fake_refused;
    // Throw a std::runtime_error from the next execute (a backend breaking the contract).
    bool throw_foreign_on_execute = false;
    // Throw a switchboard::error of this kind, with no context, from the next begin() (as an
    // in-process lock of the backend would).
    std::optional<errc> throw_error_on_begin;
    // Counters.
    int connects = 0, prepares = 0, executes = 0, begins = 0, commits = 0, rollbacks = 0, pings = 0,
        live_connections = 0, live_statements = 0;
    std::vector<std::string> executed;  // SQL text of every execute(), in order

    void reset() { *this = fake_script{}; }
};

fake_script& script();

/// The fake backend's descriptor (scheme "fake"), for plugin_registry::register_static.
const switchboard_plugin_descriptor& fake_descriptor();

/// A registry with only the fake backend registered; URLs look like "fake://host/name".
plugin_registry& fake_registry();

/// Resets the script and returns a database on the fake backend.
database fake_database(std::string_view url = "fake://host/main");
/// The same, with these options (their registry is replaced by fake_registry()).
database fake_database(std::string_view url, database_options options);

}  // namespace switchboard::testing
