// SPDX-License-Identifier: MIT
// Conformance fixture: resolves the URL under test, makes unique names, cleans up after itself.
#include "conformance_fixture.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <vector>

#include <unistd.h>

namespace switchboard::conformance {
namespace {

std::uint32_t seed() {
    static const std::uint32_t s = [] {
        std::random_device rd;
        const std::uint32_t v = rd();
        WARN("conformance seed " << std::hex << v);
        return v;
    }();
    return s;
}

struct temp_dir {
    std::filesystem::path path;
    ~temp_dir() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
};

std::string resolve_url() {
    const char* raw = std::getenv("SWITCHBOARD_CONFORMANCE_URL");
    if (raw == nullptr || *raw == '\0')
        FAIL("SWITCHBOARD_CONFORMANCE_URL is not set: run the suite through ctest (ctest -L conformance), "
             "which sets it per backend");
    std::string url = raw;
    // "$NAME": the URL is in environment variable NAME, set when the test servers run
    // (tests/support/servers.sh env).
    if (url.front() == '$') {
        const char* from_env = std::getenv(url.c_str() + 1);
        if (from_env == nullptr || *from_env == '\0')
            FAIL(url.substr(1) << " is not set: this backend needs the test servers. Start them with "
                                  "`tests/support/servers.sh start && eval \"$(tests/support/servers.sh env)\"`, "
                                  "or run everything with scripts/test.sh");
        url = from_env;
    }
    if (auto at = url.find("{tmp}"); at != std::string::npos) {
        static temp_dir dir;
        if (dir.path.empty()) {
            dir.path = std::filesystem::temp_directory_path() /
                       ("switchboard-conformance-" + std::to_string(::getpid()) + "-" + std::to_string(seed()));
            std::filesystem::create_directories(dir.path);
        }
        url.replace(at, 5, dir.path.string());
    }
    return url;
}

}  // namespace

const database& db() {
    static const database instance(resolve_url());
    return instance;
}

std::string unique_name(std::string_view stem) {
    static int counter = 0;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%06x", seed() & 0xffffffu);
    return "sb_" + std::string(stem) + "_" + buf + "_" + std::to_string(++counter);
}

dialect types() {
    const std::string_view b = db().backend_name();
    if (b == "postgresql") return {"TEXT", "BYTEA", "BIGSERIAL PRIMARY KEY"};
    if (b == "mysql") return {"LONGTEXT", "LONGBLOB", "BIGINT AUTO_INCREMENT PRIMARY KEY"};
    return {"TEXT", "BLOB", "INTEGER PRIMARY KEY"};
}

std::string make_table(connection& c, std::string_view stem, std::string_view columns) {
    struct dropper {
        std::vector<std::string> tables;
        ~dropper() {
            try {
                connection c = db().connect();
                for (const auto& t : tables) c.execute("DROP TABLE IF EXISTS " + t);
            } catch (...) {  // best effort at exit; file databases go with their directory
            }
        }
    };
    static dropper cleanup;
    std::string name = unique_name(stem);
    c.execute("CREATE TABLE " + name + " (" + std::string(columns) + ")");
    cleanup.tables.push_back(name);
    return name;
}

}  // namespace switchboard::conformance
