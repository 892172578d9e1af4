// SPDX-License-Identifier: MIT
// Test helpers for SQLite files: a unique temporary database file, and a registry with the static backend.
#pragma once

#include <switchboard/database.hpp>
#include <switchboard/plugin_registry.hpp>
#include <switchboard/sqlite/sqlite.hpp>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace switchboard::testing {

/// A database file name unique to this run (the seed is printed), removed with its WAL,
/// shared-memory and journal files at the end.
struct temp_database {
    std::filesystem::path file;
    explicit temp_database(const std::string& stem) {
        const auto seed = std::random_device{}();
        std::printf("sqlite test: %s seed %u\n", stem.c_str(), seed);
        file = std::filesystem::temp_directory_path() / ("switchboard-" + stem + "-" + std::to_string(seed) + ".db");
    }
    ~temp_database() {
        std::error_code ec;
        for (const char* suffix : {"", "-wal", "-shm", "-journal"})
            std::filesystem::remove(file.string() + suffix, ec);
    }
};

/// A local registry with the SQLite backend linked in statically (no plugin file is loaded).
struct registry_with_sqlite {
    plugin_registry registry;
    registry_with_sqlite() {
        registry.use_environment(false);
        registry.use_default_directories(false);
        registry.register_static(sqlite::descriptor);
    }
    database open_url(const std::string& url) {
        database_options o;
        o.registry = &registry;
        return database(url, o);
    }
    database open(const std::filesystem::path& file, const std::string& options = "") {
        return open_url("sqlite://" + file.string() + options);
    }
};

}  // namespace switchboard::testing
