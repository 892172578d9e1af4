// SPDX-License-Identifier: MIT
// Conformance: every value type round-trips exactly, NULL stays distinct from empty.
#include "conformance_fixture.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

using namespace switchboard;
using namespace switchboard::conformance;

TEST_CASE("integers round-trip over the full int64 range", "[conformance][types]") {
    connection c = db().connect();
    const std::string t = make_table(c, "ints", "id INTEGER NOT NULL, v BIGINT");
    const std::int64_t values[] = {0, 1, -1, 42, std::numeric_limits<std::int32_t>::max() + std::int64_t{1},
                                   std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()};
    int id = 0;
    for (std::int64_t v : values) c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", id++, v);
    id = 0;
    for (std::int64_t v : values) CHECK(c.query_value<std::int64_t>("SELECT v FROM " + t + " WHERE id = ?", id++) == v);
}

TEST_CASE("doubles round-trip bit-exact", "[conformance][types]") {
    connection c = db().connect();
    const std::string t = make_table(c, "dbl", "id INTEGER NOT NULL, v DOUBLE PRECISION");
    const double values[] = {0.0, -2.5, 1e308, -1e-308, std::numeric_limits<double>::denorm_min(), 0.1,
                             1.0 / 3.0, -123456789.125};
    int id = 0;
    for (double v : values) c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", id++, v);
    id = 0;
    for (double v : values) {
        const double back = c.query_value<double>("SELECT v FROM " + t + " WHERE id = ?", id++);
        CHECK(std::memcmp(&back, &v, sizeof v) == 0);
    }
}

TEST_CASE("infinities round-trip where the backend stores them, and are refused where not",
          "[conformance][types]") {
    connection c = db().connect();
    const std::string t = make_table(c, "inf", "id INTEGER NOT NULL, v DOUBLE PRECISION");
    const double inf = std::numeric_limits<double>::infinity();
    if (db().has(spi::capability::infinity_values)) {
        c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 1, inf);
        c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 2, -inf);
        CHECK(c.query_value<double>("SELECT v FROM " + t + " WHERE id = ?", 1) == inf);
        CHECK(c.query_value<double>("SELECT v FROM " + t + " WHERE id = ?", 2) == -inf);
    } else {
        CHECK_THROWS_AS(c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 1, inf), usage_error);
        CHECK_THROWS_AS(c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 2, -inf), usage_error);
        CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 0);
    }
}

TEST_CASE("NaN round-trips where the backend stores it, and is refused where it would become NULL",
          "[conformance][types]") {
    connection c = db().connect();
    const std::string t = make_table(c, "nan", "v DOUBLE PRECISION");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (db().has(spi::capability::nan_values)) {
        c.execute("INSERT INTO " + t + " (v) VALUES (?)", nan);
        CHECK(std::isnan(c.query_value<double>("SELECT v FROM " + t)));
    } else {
        // Silent loss (NaN stored as NULL) is the one outcome we never allow.
        CHECK_THROWS_AS(c.execute("INSERT INTO " + t + " (v) VALUES (?)", nan), usage_error);
        CHECK(c.query_value<std::int64_t>("SELECT COUNT(*) FROM " + t) == 0);
    }
}

TEST_CASE("booleans round-trip", "[conformance][types]") {
    connection c = db().connect();
    const std::string t = make_table(c, "bool", "id INTEGER NOT NULL, v BOOLEAN");
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 1, true);
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 2, false);
    CHECK(c.query_value<bool>("SELECT v FROM " + t + " WHERE id = ?", 1));
    CHECK_FALSE(c.query_value<bool>("SELECT v FROM " + t + " WHERE id = ?", 2));
}

TEST_CASE("text: empty and NULL stay distinct, UTF-8 and embedded NULs survive", "[conformance][types]") {
    connection c = db().connect();
    const std::string t = make_table(c, "text", "id INTEGER NOT NULL, v " + types().text);
    const std::string utf8 = "gr\xC3\xBC\xC3\x9F" "e \xE2\x82\xAC \xF0\x9F\x98\x80";
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 1, "");
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 2, null);
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 3, utf8);
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 4, std::optional<std::string>{});
    const std::string q = "SELECT v FROM " + t + " WHERE id = ?";
    CHECK(c.query_value<std::optional<std::string>>(q, 1) == std::optional<std::string>(""));
    CHECK(c.query_value<std::optional<std::string>>(q, 2) == std::nullopt);
    CHECK(c.query_value<std::string>(q, 3) == utf8);
    CHECK(c.query_value<std::optional<std::string>>(q, 4) == std::nullopt);
    CHECK_THROWS_AS(c.query_value<std::string>(q, 2), usage_error);
}

TEST_CASE("a 4 MiB text value round-trips", "[conformance][types]") {
    connection c = db().connect();
    const std::string t = make_table(c, "bigtext", "v " + types().text);
    std::string big(4u << 20, 'x');
    for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
    c.execute("INSERT INTO " + t + " (v) VALUES (?)", big);
    CHECK(c.query_value<std::string>("SELECT v FROM " + t) == big);
}

TEST_CASE("blobs: empty and NULL stay distinct, every byte value and 8 MiB survive", "[conformance][types]") {
    connection c = db().connect();
    const std::string t = make_table(c, "blob", "id INTEGER NOT NULL, v " + types().blob);
    bytes all(256);
    for (int i = 0; i < 256; ++i) all[i] = static_cast<std::byte>(i);
    bytes big(8u << 20);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>((i * 7919) & 0xff);
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 1, bytes{});
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 2, null);
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 3, all);
    c.execute("INSERT INTO " + t + " (id, v) VALUES (?, ?)", 4, big);
    const std::string q = "SELECT v FROM " + t + " WHERE id = ?";
    CHECK(c.query_value<std::optional<bytes>>(q, 1) == std::optional<bytes>(bytes{}));
    CHECK(c.query_value<std::optional<bytes>>(q, 2) == std::nullopt);
    CHECK(c.query_value<bytes>(q, 3) == all);
    CHECK(c.query_value<bytes>(q, 4) == big);
}

TEST_CASE("columns are named and counted; rows read by name and index agree", "[conformance][types]") {
    connection c = db().connect();
    const std::string t = make_table(c, "cols", "a INTEGER, b " + types().text);
    c.execute("INSERT INTO " + t + " (a, b) VALUES (?, ?)", 5, "five");
    result r = c.query("SELECT a, b AS bee FROM " + t);
    REQUIRE(r.column_count() == 2);
    CHECK(r.column_name(0) == "a");
    CHECK(r.column_name(1) == "bee");
    CHECK(r.find_column("bee") == std::optional<std::size_t>(1));
    CHECK(r.find_column("zzz") == std::nullopt);
    REQUIRE(r.next());
    CHECK(r.current().get<int>("a") == r.current().get<int>(0));
    CHECK(r.current().get<std::string>("bee") == "five");
    CHECK_FALSE(r.next());
}
