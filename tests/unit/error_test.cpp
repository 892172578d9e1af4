// SPDX-License-Identifier: MIT
// Unit tests of the error taxonomy: kind names and defaults, class by kind, what() text, std::error_code glue.
#include <switchboard/error.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using switchboard::errc;

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// Every kind with its stable name and value, and the defaults DESIGN.md asks for: re-running may
// help after a lost connection or a lost conflict; the connection survives anything but its loss.
struct kind_row {
    errc kind;
    int value;
    std::string_view name;
    bool transient;
    bool keeps_connection;
};

const std::vector<kind_row>& kind_table() {
    static const std::vector<kind_row> rows = {
        {errc::connect_failed, 1, "connect_failed", true, false},
        {errc::disconnected, 2, "disconnected", true, false},
        {errc::commit_outcome_unknown, 3, "commit_outcome_unknown", false, false},
        {errc::serialization, 4, "serialization", true, true},
        {errc::deadlock, 5, "deadlock", true, true},
        {errc::lock_timeout, 6, "lock_timeout", true, true},
        {errc::read_only, 7, "read_only", false, true},
        {errc::integrity, 8, "integrity", false, true},
        {errc::syntax, 9, "syntax", false, true},
        {errc::timeout, 10, "timeout", false, true},
        {errc::too_many_connections, 11, "too_many_connections", true, false},
        {errc::permission, 12, "permission", false, true},
        {errc::plugin, 13, "plugin", false, true},
        {errc::usage, 14, "usage", false, true},
        {errc::other, 15, "other", false, true},
    };
    return rows;
}

switchboard::error_info info_of(errc kind) {
    switchboard::error_info i;
    i.kind = kind;
    i.message = "something failed";
    return i;
}

// Which catchable class throw_error picked, by name. The classes are siblings, so the first
// handler that matches is the only one.
std::string thrown_class(errc kind) {
    try {
        switchboard::throw_error(info_of(kind));
    } catch (const switchboard::connection_error&) {
        return "connection_error";
    } catch (const switchboard::transaction_error&) {
        return "transaction_error";
    } catch (const switchboard::statement_error&) {
        return "statement_error";
    } catch (const switchboard::usage_error&) {
        return "usage_error";
    } catch (const switchboard::plugin_error&) {
        return "plugin_error";
    } catch (const switchboard::error&) {
        return "error";
    }
    return "nothing";
}

}  // namespace

TEST_CASE("to_string names every kind, and the values never change", "[error]") {
    REQUIRE(kind_table().size() == 15);
    for (const auto& row : kind_table()) {
        CAPTURE(row.name);
        CHECK(switchboard::to_string(row.kind) == row.name);
        CHECK(static_cast<int>(row.kind) == row.value);
    }
}

TEST_CASE("is_transient_by_default and keeps_connection_by_default follow the table", "[error]") {
    for (const auto& row : kind_table()) {
        CAPTURE(row.name);
        CHECK(switchboard::is_transient_by_default(row.kind) == row.transient);
        CHECK(switchboard::keeps_connection_by_default(row.kind) == row.keeps_connection);
    }
}

TEST_CASE("an in-doubt commit is neither transient nor keeps its connection", "[error]") {
    // Re-running work that may already be committed could apply it twice.
    CHECK_FALSE(switchboard::is_transient_by_default(errc::commit_outcome_unknown));
    CHECK_FALSE(switchboard::keeps_connection_by_default(errc::commit_outcome_unknown));
}

TEST_CASE("throw_error picks the class by what the caller does next", "[error]") {
    const std::vector<std::pair<errc, std::string>> expected = {
        {errc::connect_failed, "connection_error"},
        {errc::disconnected, "connection_error"},
        {errc::commit_outcome_unknown, "connection_error"},
        {errc::too_many_connections, "connection_error"},
        {errc::serialization, "transaction_error"},
        {errc::deadlock, "transaction_error"},
        {errc::lock_timeout, "transaction_error"},
        {errc::timeout, "transaction_error"},
        {errc::usage, "usage_error"},
        {errc::plugin, "plugin_error"},
        {errc::read_only, "statement_error"},
        {errc::integrity, "statement_error"},
        {errc::syntax, "statement_error"},
        {errc::permission, "statement_error"},
        {errc::other, "statement_error"},
    };
    REQUIRE(expected.size() == kind_table().size());
    for (const auto& [kind, cls] : expected) {
        CAPTURE(switchboard::to_string(kind));
        CHECK(thrown_class(kind) == cls);
    }
}

TEST_CASE("every thrown class is a switchboard::error and a std::runtime_error keeping its kind", "[error]") {
    for (const auto& row : kind_table()) {
        CAPTURE(row.name);
        CHECK_THROWS_AS(switchboard::throw_error(info_of(row.kind)), switchboard::error);
        CHECK_THROWS_AS(switchboard::throw_error(info_of(row.kind)), std::runtime_error);
        try {
            switchboard::throw_error(info_of(row.kind));
        } catch (const switchboard::error& e) {
            CHECK(e.kind() == row.kind);
            CHECK(e.code() == row.kind);
        }
    }
}

TEST_CASE("an error keeps every field of its error_info", "[error]") {
    switchboard::error_info i;
    i.kind = errc::lock_timeout;
    i.transient = true;
    i.connection_usable = true;
    i.message = "database is locked";
    i.sqlstate = "55P03";
    i.native_code = 5;
    i.backend = "sqlite";
    i.database = "main";
    i.statement = "UPDATE t SET x = ?";
    const switchboard::transaction_error e(i);
    CHECK(e.kind() == errc::lock_timeout);
    CHECK(e.is_transient());
    CHECK(e.connection_usable());
    CHECK(e.message() == "database is locked");
    CHECK(e.sqlstate() == "55P03");
    CHECK(e.native_code() == 5);
    CHECK(e.backend() == "sqlite");
    CHECK(e.database() == "main");
    CHECK(e.statement() == "UPDATE t SET x = ?");
    CHECK(e.info().message == i.message);

    SECTION("throw_error does not change the flags the classifier chose") {
        i.kind = errc::connect_failed;
        i.transient = false;  // e.g. a wrong password: connect_failed, but not worth retrying
        i.connection_usable = false;
        try {
            switchboard::throw_error(i);
        } catch (const switchboard::connection_error& c) {
            CHECK_FALSE(c.is_transient());
            CHECK_FALSE(c.connection_usable());
        }
    }
}

TEST_CASE("what() shows backend, database, kind, message, SQLSTATE and statement", "[error]") {
    switchboard::error_info i;
    i.kind = errc::integrity;
    i.message = "duplicate key value violates unique constraint";
    i.sqlstate = "23505";
    i.backend = "postgresql";
    i.database = "orders";
    i.statement = "INSERT INTO t (id) VALUES (?)";
    const std::string what = switchboard::statement_error(i).what();
    CHECK(contains(what, "postgresql"));
    CHECK(contains(what, "orders"));
    CHECK(contains(what, "integrity"));
    CHECK(contains(what, "duplicate key value violates unique constraint"));
    CHECK(contains(what, "23505"));
    CHECK(contains(what, "INSERT INTO t (id) VALUES (?)"));
}

TEST_CASE("what() without backend, database, SQLSTATE or statement is just kind and message", "[error]") {
    const std::string what = switchboard::usage_error(info_of(errc::usage)).what();
    CHECK(what == "usage: something failed");
}

TEST_CASE("a long statement is cut in what() but kept whole in statement()", "[error]") {
    const std::string head(200, 'a');
    const std::string tail(100, 'b');
    auto i = info_of(errc::syntax);
    i.statement = head + tail;
    const switchboard::statement_error e(i);
    const std::string what = e.what();
    CHECK(e.statement() == head + tail);
    CHECK(contains(what, head));
    CHECK_FALSE(contains(what, head + "b"));
    CHECK(contains(what, "..."));
    CHECK(what.size() < i.statement.size() + 64);

    SECTION("a statement of exactly 200 characters is shown whole") {
        i.statement = head;
        const std::string exact = switchboard::statement_error(i).what();
        CHECK(contains(exact, head));
        CHECK_FALSE(contains(exact, "..."));
    }
}

TEST_CASE("errc works as a std::error_code", "[error]") {
    std::error_code ec = switchboard::errc::deadlock;
    CHECK(ec.value() == 5);
    CHECK(ec.message() == "deadlock");
    CHECK(std::string(ec.category().name()) == "switchboard");
    CHECK(&ec.category() == &switchboard::switchboard_category());
    CHECK(ec == switchboard::errc::deadlock);
    CHECK(ec != switchboard::errc::serialization);
    CHECK(ec != std::make_error_code(std::errc::resource_deadlock_would_occur));
    CHECK(switchboard::make_error_code(errc::usage).message() == "usage");
    for (const auto& row : kind_table()) CHECK(std::error_code(row.kind).message() == row.name);
}

TEST_CASE("throw_usage throws a usage_error with the given context", "[error]") {
    try {
        switchboard::throw_usage("wrong parameter count: 2 given, 3 expected", "sqlite", "main", "SELECT ?, ?, ?");
        FAIL("throw_usage returned");
    } catch (const switchboard::usage_error& e) {
        CHECK(e.kind() == errc::usage);
        CHECK_FALSE(e.is_transient());
        CHECK(e.connection_usable());
        CHECK(e.message() == "wrong parameter count: 2 given, 3 expected");
        CHECK(e.backend() == "sqlite");
        CHECK(e.database() == "main");
        CHECK(e.statement() == "SELECT ?, ?, ?");
        CHECK(contains(e.what(), "usage"));
        CHECK(contains(e.what(), "SELECT ?, ?, ?"));
    }
}

TEST_CASE("errors are copyable and a copy keeps its class, what() and fields", "[error]") {
    auto i = info_of(errc::deadlock);
    i.sqlstate = "40P01";
    const switchboard::transaction_error original(i);
    const switchboard::transaction_error copy = original;
    CHECK(std::string(copy.what()) == original.what());
    CHECK(copy.kind() == errc::deadlock);
    CHECK(copy.sqlstate() == "40P01");

    // Rethrown through std::exception_ptr, the class survives.
    std::exception_ptr p;
    try {
        switchboard::throw_error(i);
    } catch (...) {
        p = std::current_exception();
    }
    CHECK_THROWS_AS(std::rethrow_exception(p), switchboard::transaction_error);
}
