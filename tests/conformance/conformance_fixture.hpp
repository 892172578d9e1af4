// SPDX-License-Identifier: MIT
// The database under test for the conformance suite: one backend URL per run, unique table names.
#pragma once

#include <switchboard/connection.hpp>
#include <switchboard/database.hpp>

#include <string>
#include <string_view>

namespace switchboard::conformance {

/// The database named by SWITCHBOARD_CONFORMANCE_URL. "{tmp}" in the URL becomes a fresh
/// directory of this process (removed at exit), so file databases never collide. Fails the
/// test with a message saying how to run the suite when the variable is missing.
const database& db();

/// A table name unique to this process and call, e.g. "sb_t_5f3a2c_3". The seed is printed
/// once per process.
std::string unique_name(std::string_view stem);

/// Column types in the backend's dialect: these differ by name only, not by behaviour, so
/// they are the one place the suite looks at which backend it runs.
struct dialect {
    std::string text;     ///< a text column holding at least 16 MiB
    std::string blob;     ///< a binary column holding at least 16 MiB
    std::string auto_id;  ///< an auto-increment integer primary key
};
dialect types();

/// Creates a table with this column list and returns its unique name; it is dropped at exit.
std::string make_table(connection& c, std::string_view stem, std::string_view columns);

}  // namespace switchboard::conformance
