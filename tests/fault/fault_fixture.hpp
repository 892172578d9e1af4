// SPDX-License-Identifier: MIT
// What every fault test binary shares: the server under test, a proxied database in front of
// it, the backend's COMMIT as it appears on the wire, and throwaway tables.
//
// The same test code runs once per backend: SWITCHBOARD_FAULT_URL names the environment
// variable holding the server's URL ("$SWITCHBOARD_TEST_PG_URL"), set by ctest.
#pragma once

#include "support/fault_proxy.hpp"

#include <switchboard/connection.hpp>
#include <switchboard/database.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::testing {

/// The URL of the server under test. FAILs when SWITCHBOARD_FAULT_URL is unset.
std::string fault_server_url();
/// A database straight to the server under test (no proxy), made once.
const database& direct();
bool is_postgresql();

/// The COMMIT message exactly as the backend sends it (simple query / COM_QUERY), so a
/// pattern never matches user SQL that merely contains the word.
std::string commit_message();

/// A fault proxy in front of the server, and a database whose URL points at it (same user,
/// password and options; TLS off so patterns can match; connect_timeout=2).
struct proxied {
    fault_proxy proxy;
    database db;

    explicit proxied(std::string_view extra_options = "");
    std::string via_proxy(std::string_view extra) const;
};

/// A fresh table (id BIGINT PRIMARY KEY, v BIGINT NOT NULL) with a unique name, dropped at
/// the end (best effort). rows() counts on a fresh direct connection.
struct table {
    std::string name;
    table();
    ~table();
    table(const table&) = delete;
    table& operator=(const table&) = delete;
    std::int64_t rows() const;
    /// "INSERT INTO <name> (id, v) VALUES (?, ?)".
    std::string insert_sql() const { return "INSERT INTO " + name + " (id, v) VALUES (?, ?)"; }
    /// Inserts rows (i, i) for i in [0, n) in one transaction.
    void fill(int n) const;
};

/// The server's id of this connection's session (pg_backend_pid() / CONNECTION_ID()).
std::int64_t session_id(connection& c);
/// A statement that sleeps on the server: pg_sleep(s) / SLEEP(s).
std::string sleep_sql(int seconds);
/// Whether session `id` is inside pg_sleep() / SLEEP() right now, asked on `monitor`.
bool sleeping(connection& monitor, std::int64_t id);

inline auto since(std::chrono::steady_clock::time_point t) { return std::chrono::steady_clock::now() - t; }

}  // namespace switchboard::testing
