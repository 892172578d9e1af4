// SPDX-License-Identifier: MIT
// Unit tests of switchboard::url: every accepted form, percent-decoding, every error, and redaction.
#include <switchboard/error.hpp>
#include <switchboard/url.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

using switchboard::host_port;
using switchboard::url;

namespace {

// A distinctive password: no message or printed URL may ever contain it.
constexpr std::string_view secret = "S3cr3t!pw";

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// Parses text that must be refused and returns what() of the usage_error, after checking that
// neither what() nor message() repeats the password or the input.
std::string rejection(const std::string& text, std::string_view password = secret) {
    try {
        (void)url::parse(text);
    } catch (const switchboard::usage_error& e) {
        const std::string what = e.what();
        CHECK(e.kind() == switchboard::errc::usage);
        CHECK_FALSE(e.is_transient());
        CHECK(contains(what, "invalid URL"));
        if (!password.empty()) {
            CHECK_FALSE(contains(what, password));
            CHECK_FALSE(contains(e.message(), password));
        }
        // Short inputs such as "sqlite:" legitimately appear in the hints the messages give.
        if (text.size() > 12) CHECK_FALSE(contains(what, text));
        return what;
    }
    FAIL("parsed without an error: " << text);
    return {};
}

host_port hp(std::string host, std::optional<std::uint16_t> port = std::nullopt) {
    return host_port{std::move(host), port};
}

}  // namespace

// --- SQLite (path) forms -------------------------------------------------------------------

TEST_CASE("sqlite:///abs/path.db names an absolute file", "[url]") {
    const auto u = url::parse("sqlite:///abs/path.db");
    CHECK(u.scheme() == "sqlite");
    CHECK(u.database() == "/abs/path.db");
    CHECK(u.hosts().empty());
    CHECK_FALSE(u.user());
    CHECK_FALSE(u.password());
    CHECK(u.driver_options().empty());
    CHECK(u.library_options().empty());
}

TEST_CASE("sqlite:relative.db names a file relative to the working directory", "[url]") {
    CHECK(url::parse("sqlite:relative.db").database() == "relative.db");
    CHECK(url::parse("sqlite:dir/sub/file.db").database() == "dir/sub/file.db");
    CHECK(url::parse("sqlite:/abs/one-slash.db").database() == "/abs/one-slash.db");
}

TEST_CASE("sqlite::memory: names an in-memory database", "[url]") {
    const auto u = url::parse("sqlite::memory:");
    CHECK(u.scheme() == "sqlite");
    CHECK(u.database() == ":memory:");
    CHECK(u.hosts().empty());
}

TEST_CASE("sqlite URLs take query options, split into driver and library options", "[url]") {
    const auto u = url::parse("sqlite:///abs/path.db?busy_timeout=100&sb.pool_size=4");
    CHECK(u.database() == "/abs/path.db");
    CHECK(u.driver_options() == std::vector<url::option>{{"busy_timeout", "100"}});
    CHECK(u.library_options() == std::vector<url::option>{{"pool_size", "4"}});
    CHECK(url::parse("sqlite::memory:?cache=shared").driver_option("cache") == "shared");
    CHECK(url::parse("sqlite:rel.db?mode=ro").database() == "rel.db");
}

TEST_CASE("sqlite scheme is case-insensitive and stored lowercase", "[url]") {
    const auto u = url::parse("SQLite:///abs/x.db");
    CHECK(u.scheme() == "sqlite");
    CHECK(u.database() == "/abs/x.db");
}

TEST_CASE("sqlite URL with a host or user is refused", "[url]") {
    CHECK(contains(rejection("sqlite://host/x"), "no host"));
    CHECK(contains(rejection("sqlite://host"), "no host"));
    CHECK(contains(rejection("sqlite://admin:S3cr3t!pw@/x.db"), "no host"));
    CHECK(contains(rejection("sqlite://admin:S3cr3t!pw@host/x.db"), "(scheme 'sqlite')"));
}

TEST_CASE("sqlite URL without a file is refused", "[url]") {
    CHECK(contains(rejection("sqlite:"), "no database file"));
    CHECK(contains(rejection("sqlite://"), "no database file"));
    CHECK(contains(rejection("sqlite:?busy_timeout=1"), "no database file"));
}

TEST_CASE("sqlite path is percent-decoded", "[url]") {
    CHECK(url::parse("sqlite:///tmp/my%20file%3F.db").database() == "/tmp/my file?.db");
    CHECK(url::parse("sqlite:data%40home.db").database() == "data@home.db");
    CHECK(contains(rejection("sqlite:bad%zz.db"), "database path"));
}

TEST_CASE("path-form URL with an unencoded '@' is refused, so a forgotten '//' cannot keep a password", "[url]") {
    // Without '//' this would be a path holding the password, printed by to_string().
    const auto what = rejection("mysql:admin:S3cr3t!pw@host/db");
    CHECK(contains(what, "'@'"));
    CHECK(contains(what, "%40"));
    rejection("sqlite:backup@2024.db", {});
}

TEST_CASE("any scheme written without '//' uses the path form", "[url]") {
    const auto u = url::parse("duckdb:analytics.duck?threads=4");
    CHECK(u.scheme() == "duckdb");
    CHECK(u.database() == "analytics.duck");
    CHECK(u.hosts().empty());
    CHECK(u.driver_option("threads") == "4");
}

// --- network form ---------------------------------------------------------------------------

TEST_CASE("network URL with every part", "[url]") {
    const auto u = url::parse("postgresql://alice:S3cr3t!pw@db1.test:5432/app?sslmode=require&sb.name=main");
    CHECK(u.scheme() == "postgresql");
    CHECK(u.user() == "alice");
    CHECK(u.password() == std::string(secret));
    CHECK(u.hosts() == std::vector<host_port>{hp("db1.test", 5432)});
    CHECK(u.database() == "app");
    CHECK(u.driver_options() == std::vector<url::option>{{"sslmode", "require"}});
    CHECK(u.library_options() == std::vector<url::option>{{"name", "main"}});
}

TEST_CASE("network URL parts are optional", "[url]") {
    SECTION("host only") {
        const auto u = url::parse("postgresql://db1.test");
        CHECK(u.hosts() == std::vector<host_port>{hp("db1.test")});
        CHECK(u.database().empty());
        CHECK_FALSE(u.user());
        CHECK_FALSE(u.password());
    }
    SECTION("host and trailing slash") {
        const auto u = url::parse("postgresql://db1.test/");
        CHECK(u.hosts() == std::vector<host_port>{hp("db1.test")});
        CHECK(u.database().empty());
    }
    SECTION("user without password") {
        const auto u = url::parse("mysql://bob@db1.test/shop");
        CHECK(u.user() == "bob");
        CHECK_FALSE(u.password());
    }
    SECTION("empty password is a password") {
        const auto u = url::parse("mysql://bob:@db1.test/shop");
        CHECK(u.user() == "bob");
        CHECK(u.password() == "");
    }
    SECTION("password without user leaves the user to the driver") {
        const auto u = url::parse("postgresql://:S3cr3t!pw@db1.test/app");
        CHECK_FALSE(u.user());
        CHECK(u.password() == std::string(secret));
    }
    SECTION("empty userinfo") {
        const auto u = url::parse("postgresql://@db1.test/app");
        CHECK_FALSE(u.user());
        CHECK_FALSE(u.password());
        CHECK(u.hosts() == std::vector<host_port>{hp("db1.test")});
    }
    SECTION("query without a path") {
        const auto u = url::parse("postgresql://db1.test?sslmode=disable");
        CHECK(u.hosts() == std::vector<host_port>{hp("db1.test")});
        CHECK(u.database().empty());
        CHECK(u.driver_option("sslmode") == "disable");
    }
}

TEST_CASE("empty host means the driver's default host", "[url]") {
    SECTION("postgresql:///db") {
        const auto u = url::parse("postgresql:///db");
        CHECK(u.hosts() == std::vector<host_port>{hp("")});
        CHECK(u.database() == "db");
    }
    SECTION("port without host") {
        const auto u = url::parse("postgresql://:5433/db");
        CHECK(u.hosts() == std::vector<host_port>{hp("", 5433)});
    }
    SECTION("user with the default host") {
        const auto u = url::parse("postgresql://alice@/db");
        CHECK(u.user() == "alice");
        CHECK(u.hosts() == std::vector<host_port>{hp("")});
    }
}

TEST_CASE("schemes are case-insensitive, stored lowercase, and any valid scheme parses", "[url]") {
    CHECK(url::parse("PostgreSQL://h/db").scheme() == "postgresql");
    CHECK(url::parse("MariaDB://h/db").scheme() == "mariadb");
    CHECK(url::parse("postgres://h/db").scheme() == "postgres");
    const auto u = url::parse("cockroach+tls.v2-x://h:26257/db");
    CHECK(u.scheme() == "cockroach+tls.v2-x");
    CHECK(u.hosts() == std::vector<host_port>{hp("h", 26257)});
}

TEST_CASE("invalid or missing schemes are refused", "[url]") {
    CHECK(contains(rejection(""), "empty"));
    CHECK(contains(rejection("db1.test"), "missing scheme"));
    CHECK(contains(rejection("://db1.test/db"), "missing scheme"));
    CHECK(contains(rejection("1pg://db1.test/db"), "scheme must start with a letter"));
    CHECK(contains(rejection("post_gres://db1.test/db"), "scheme"));
    CHECK(contains(rejection("pg sql://db1.test/db"), "scheme"));
    // The scheme forgotten: "alice" reads as the scheme and the rest as a path holding an '@',
    // which is refused without showing it.
    rejection("alice:S3cr3t!pw@db1.test/db");
}

TEST_CASE("IPv6 hosts are written in brackets", "[url]") {
    SECTION("with port") {
        const auto u = url::parse("mysql://u@[::1]:3306/db");
        CHECK(u.hosts() == std::vector<host_port>{hp("::1", 3306)});
        CHECK(u.user() == "u");
    }
    SECTION("without port") {
        CHECK(url::parse("postgresql://[2001:db8::7]/db").hosts() == std::vector<host_port>{hp("2001:db8::7")});
    }
    SECTION("with a zone id, '%' written %25") {
        CHECK(url::parse("postgresql://[fe80::1%25eth0]:5432/db").hosts() ==
              std::vector<host_port>{hp("fe80::1%eth0", 5432)});
    }
    SECTION("malformed brackets are refused") {
        CHECK(contains(rejection("postgresql://u:S3cr3t!pw@[::1/db"), "unclosed '['"));
        CHECK(contains(rejection("postgresql://u:S3cr3t!pw@[]:5432/db"), "empty IPv6"));
        CHECK(contains(rejection("postgresql://u:S3cr3t!pw@[::1]5432/db"), "after ']'"));
        CHECK(contains(rejection("postgresql://u:S3cr3t!pw@db]1/db"), "misplaced"));
    }
    SECTION("an unbracketed IPv6 address is refused") {
        CHECK(contains(rejection("postgresql://u:S3cr3t!pw@::1/db"), "brackets"));
        CHECK(contains(rejection("postgresql://u:S3cr3t!pw@2001:db8::7:5432/db"), "brackets"));
    }
}

TEST_CASE("multi-host URLs keep the hosts in order, with and without ports", "[url]") {
    SECTION("all with ports") {
        const auto u = url::parse("postgresql://h1:5432,h2:5433/db");
        CHECK(u.hosts() == std::vector<host_port>{hp("h1", 5432), hp("h2", 5433)});
        CHECK(u.database() == "db");
    }
    SECTION("none with ports") {
        CHECK(url::parse("postgresql://h1,h2,h3/db").hosts() ==
              std::vector<host_port>{hp("h1"), hp("h2"), hp("h3")});
    }
    SECTION("mixed, with IPv6 and userinfo") {
        const auto u = url::parse("postgresql://alice:S3cr3t!pw@h1,h2:5433,[::1]:5434,[::2]/db");
        CHECK(u.user() == "alice");
        CHECK(u.password() == std::string(secret));
        CHECK(u.hosts() == std::vector<host_port>{hp("h1"), hp("h2", 5433), hp("::1", 5434), hp("::2")});
    }
    SECTION("an empty entry is the default host") {
        CHECK(url::parse("postgresql://h1,,h3/db").hosts() == std::vector<host_port>{hp("h1"), hp(""), hp("h3")});
    }
}

TEST_CASE("hosts are percent-decoded, so a Unix socket directory can be a host", "[url]") {
    CHECK(url::parse("postgresql://%2Fvar%2Frun%2Fpostgresql/db").hosts() ==
          std::vector<host_port>{hp("/var/run/postgresql")});
    CHECK(contains(rejection("postgresql://u:S3cr3t!pw@h1,h%zz/db"), "host 2"));
}

// --- ports ----------------------------------------------------------------------------------

TEST_CASE("ports are decimal 1..65535", "[url]") {
    CHECK(url::parse("postgresql://h:1/db").hosts().front().port == 1);
    CHECK(url::parse("postgresql://h:65535/db").hosts().front().port == 65535);
    CHECK(url::parse("postgresql://h:05432/db").hosts().front().port == 5432);
}

TEST_CASE("an out-of-range port is refused, naming the port and its host position", "[url]") {
    const auto what = rejection("postgresql://alice:S3cr3t!pw@db1.test:99999/app");
    CHECK(contains(what, "(scheme 'postgresql')"));
    CHECK(contains(what, "port '99999'"));
    CHECK(contains(what, "out of range"));
    CHECK(contains(what, "host 1"));
    CHECK_FALSE(contains(what, "alice"));

    CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h1:5432,h2:65536/app"), "host 2"));
    CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h1:0/app"), "port '0'"));
}

TEST_CASE("a non-numeric, over-long or empty port is refused without showing it", "[url]") {
    SECTION("not a number") {
        const auto what = rejection("postgresql://alice:S3cr3t!pw@db1.test:54x2/app");
        CHECK(contains(what, "not a decimal number"));
        CHECK_FALSE(contains(what, "54x2"));
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@db1.test:-1/app"), "not a decimal number"));
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@db1.test:+5432/app"), "not a decimal number"));
    }
    SECTION("more than five digits may be a password that slid into the port position") {
        // The host was left out: "admin" reads as the host and the numeric password as the port.
        const auto what = rejection("postgresql://admin:12345678/app", "12345678");
        CHECK(contains(what, "out of range"));
    }
    SECTION("a password with letters that slid into the port position is not shown") {
        CHECK(contains(rejection("postgresql://admin:S3cr3t!pw/app"), "port"));
    }
    SECTION("empty port") {
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@db1.test:/app"), "empty port"));
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h1:5432,h2:/app"), "host 2"));
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@[::1]:/app"), "empty port"));
    }
}

// --- percent-decoding -----------------------------------------------------------------------

TEST_CASE("user, password, database, option keys and values are percent-decoded", "[url]") {
    const auto u = url::parse("postgresql://al%40ice:p%40ss%3Aw%2Fo%3Frd%23x%25@h/my%20db"
                              "?application%5Fname=my%20app&opt=a%26b%3Dc");
    CHECK(u.user() == "al@ice");
    CHECK(u.password() == "p@ss:w/o?rd#x%");
    CHECK(u.database() == "my db");
    CHECK(u.driver_option("application_name") == "my app");
    CHECK(u.driver_option("opt") == "a&b=c");
}

TEST_CASE("'+' is a plus sign, not a space", "[url]") {
    const auto u = url::parse("postgresql://a+b:c+d@h/e+f?g+h=i+j");
    CHECK(u.user() == "a+b");
    CHECK(u.password() == "c+d");
    CHECK(u.database() == "e+f");
    CHECK(u.driver_option("g+h") == "i+j");
}

TEST_CASE("UTF-8 passwords decode byte for byte, encoded or raw", "[url]") {
    // "pässwörd✓" in UTF-8
    const std::string expected = "p\xC3\xA4ssw\xC3\xB6rd\xE2\x9C\x93";
    CHECK(url::parse("postgresql://u:p%C3%A4ssw%C3%B6rd%E2%9C%93@h/db").password() == expected);
    CHECK(url::parse("postgresql://u:" + expected + "@h/db").password() == expected);
    CHECK(url::parse("postgresql://u:p%c3%a4ssw%c3%b6rd%e2%9c%93@h/db").password() == expected);  // lowercase hex
}

TEST_CASE("an unencoded '@' in the password: the last '@' ends the userinfo", "[url]") {
    const auto u = url::parse("postgresql://user:p@ss@host/db");
    CHECK(u.user() == "user");
    CHECK(u.password() == "p@ss");
    CHECK(u.hosts() == std::vector<host_port>{hp("host")});
    CHECK(u.database() == "db");

    const auto v = url::parse("postgresql://user:S3cr3t!pw@@h1:5432,h2/db");
    CHECK(v.password() == "S3cr3t!pw@");
    CHECK(v.hosts() == std::vector<host_port>{hp("h1", 5432), hp("h2")});
}

TEST_CASE("an unencoded ':' in the password belongs to the password", "[url]") {
    const auto u = url::parse("mysql://user:a:b:c@host/db");
    CHECK(u.user() == "user");
    CHECK(u.password() == "a:b:c");
}

TEST_CASE("an invalid percent-escape is refused, naming the part and never the password", "[url]") {
    SECTION("in the password") {
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw%zz@h/db"), "bad percent-escape in the password"));
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw%4@h/db"), "bad percent-escape in the password"));
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw%@h/db"), "bad percent-escape in the password"));
        CHECK(contains(rejection("postgresql://alice:%4S3cr3t!pw@h/db"), "bad percent-escape in the password"));
    }
    SECTION("in the user name") {
        CHECK(contains(rejection("postgresql://al%zzice:S3cr3t!pw@h/db"), "bad percent-escape in the user name"));
    }
    SECTION("in the database name") {
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/d%b"), "bad percent-escape in the database name"));
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db%4"), "bad percent-escape in the database name"));
    }
    SECTION("in an option key") {
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db?k%g1=v"), "bad percent-escape in an option key"));
    }
    SECTION("in an option value, naming the key but not the value") {
        const auto what = rejection("postgresql://alice:S3cr3t!pw@h/db?sslmode=requ%ire");
        CHECK(contains(what, "bad percent-escape in the value of option 'sslmode'"));
        CHECK_FALSE(contains(what, "requ"));
        const auto pw = rejection("postgresql://h/db?password=S3cr3t!pw%z");
        CHECK(contains(pw, "value of option 'password'"));
    }
    SECTION("a decoded NUL would cut the string in a C client") {
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw%00@h/db"), "NUL"));
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db%00x"), "NUL"));
    }
}

// --- query ----------------------------------------------------------------------------------

TEST_CASE("query pairs: empty pairs are ignored, a bare key has an empty value", "[url]") {
    const auto u = url::parse("postgresql://h/db?&a=1&&b&c=&d=x=y&");
    CHECK(u.driver_options() ==
          std::vector<url::option>{{"a", "1"}, {"b", ""}, {"c", ""}, {"d", "x=y"}});
    CHECK(url::parse("postgresql://h/db?").driver_options().empty());
}

TEST_CASE("keys starting with sb. are library options, the rest driver options", "[url]") {
    const auto u = url::parse("postgresql://h/db?sb.name=main&sslmode=require&sb.pool_size=8&name=drv");
    CHECK(u.library_options() == std::vector<url::option>{{"name", "main"}, {"pool_size", "8"}});
    CHECK(u.driver_options() == std::vector<url::option>{{"sslmode", "require"}, {"name", "drv"}});
    CHECK(u.library_option("name") == "main");
    CHECK(u.library_option("pool_size") == "8");
    CHECK(u.driver_option("name") == "drv");
    CHECK_FALSE(u.driver_option("sb.name"));
    CHECK_FALSE(u.library_option("sb.name"));
    CHECK_FALSE(u.library_option("sslmode"));
    CHECK_FALSE(u.driver_option("missing"));
    CHECK_FALSE(u.library_option("missing"));
    // The prefix is recognised after decoding.
    CHECK(url::parse("postgresql://h/db?sb%2Ename=x").library_option("name") == "x");
}

TEST_CASE("driver_option returns an empty value for a bare key, and nullopt when absent", "[url]") {
    const auto u = url::parse("sqlite::memory:?readonly");
    REQUIRE(u.driver_option("readonly"));
    CHECK(u.driver_option("readonly")->empty());
    CHECK_FALSE(u.driver_option("readOnly"));  // keys are case-sensitive
}

TEST_CASE("a repeated option key is refused", "[url]") {
    CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db?sslmode=require&sslmode=disable"),
                   "option 'sslmode' is given more than once"));
    SECTION("after decoding") {
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db?a=1&%61=2"), "option 'a'"));
    }
    SECTION("library options") {
        CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db?sb.name=a&sb.name=b"), "option 'sb.name'"));
    }
    SECTION("a repeated password option does not show either value") {
        const auto what = rejection("postgresql://h/db?password=S3cr3t!pw&password=S3cr3t!pw2");
        CHECK(contains(what, "option 'password'"));
    }
    SECTION("the same name as driver and library option is not a repeat") {
        CHECK_NOTHROW(url::parse("postgresql://h/db?name=a&sb.name=b"));
    }
}

TEST_CASE("an empty option key is refused", "[url]") {
    CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db?=v"), "empty key"));
    CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db?a=1&=S3cr3t!pw"), "empty key"));
    CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db?sb.=1"), "'sb.'"));
}

TEST_CASE("an option key that is not a plain name is not shown in a message", "[url]") {
    const auto what = rejection("postgresql://h/db?a%0Ab=1&a%0Ab=2", {});
    CHECK(contains(what, "not a plain name"));
    CHECK_FALSE(contains(what, "\n"));
    // A '?' left unencoded in the password makes the rest of the password the first key:
    // such a URL is refused for its stray '@' before any key is looked at.
    CHECK(contains(rejection("postgresql://u:1234?S3cr3t!pw@h/db=%zz"), "unencoded '@' after the host"));
    CHECK(contains(rejection("postgresql://u?S3cr3t!pw@h/db&S3cr3t!pw@h/db"), "unencoded '@' after the host"));
}

TEST_CASE("a password with an unencoded '/' or '?' is refused, never shown", "[url]") {
    // The authority ends at the '/' or '?', leaving the password's tail and the real '@' in
    // the path or query, where to_string() would print it.
    CHECK(contains(rejection("postgresql://app:2024/S3cr3t!pw@db.example/prod"), "unencoded '@' after the host"));
    CHECK(contains(rejection("postgresql://app:2024?sb.S3cr3t!pw@db.example/prod"), "unencoded '@' after the host"));
    CHECK(contains(rejection("mysql://h/db?application_name=svc@node1", {}), "%40"));
    CHECK(url::parse("mysql://h/db?application_name=svc%40node1").driver_option("application_name") ==
          std::optional<std::string_view>("svc@node1"));
    CHECK(url::parse("postgresql://u:p@h/db?application_name=svc@node1").driver_option("application_name") ==
          std::optional<std::string_view>("svc@node1"));
}

// --- other errors ---------------------------------------------------------------------------

TEST_CASE("a fragment is refused", "[url]") {
    CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db#frag"), "fragment"));
    CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db?a=1#frag"), "fragment"));
    // An unencoded '#' in the password: refused, suggesting %23, and not shown.
    const auto what = rejection("postgresql://alice:S3cr3t#pw@h/db", "S3cr3t#pw");
    CHECK(contains(what, "%23"));
    CHECK_FALSE(contains(what, "S3cr3t"));
}

TEST_CASE("control characters such as a trailing newline are refused", "[url]") {
    CHECK(contains(rejection("postgresql://alice:S3cr3t!pw@h/db\n"), "control character"));
    CHECK(contains(rejection("postgresql://alice:S3cr\t3t!pw@h/db", "S3cr\t3t!pw"), "control character"));
    CHECK(contains(rejection(std::string("sqlite:a\x7f.db"), {}), "control character"));
}

TEST_CASE("errors are usage_error, catchable as switchboard::error", "[url]") {
    CHECK_THROWS_AS(url::parse("postgresql://h:0/db"), switchboard::usage_error);
    CHECK_THROWS_AS(url::parse("postgresql://h:0/db"), switchboard::error);
    try {
        (void)url::parse("postgresql://h:0/db");
    } catch (const switchboard::error& e) {
        CHECK(e.kind() == switchboard::errc::usage);
        CHECK(e.code() == switchboard::errc::usage);
        CHECK(e.connection_usable());
    }
}

// --- printing -------------------------------------------------------------------------------

TEST_CASE("to_string replaces the password with ***", "[url]") {
    const auto u = url::parse("postgresql://alice:S3cr3t!pw@db1.test:5432/app");
    CHECK(u.to_string() == "postgresql://alice:***@db1.test:5432/app");
    CHECK(url::parse("postgresql://:S3cr3t!pw@h/app").to_string() == "postgresql://:***@h/app");
    CHECK(url::parse("postgresql://alice:@h/app").to_string() == "postgresql://alice:***@h/app");
    SECTION("no password, no ***") {
        CHECK(url::parse("postgresql://alice@h/app").to_string() == "postgresql://alice@h/app");
        CHECK(url::parse("postgresql://h/app").to_string() == "postgresql://h/app");
    }
    SECTION("percent-encoded and awkward passwords leave no trace") {
        for (const char* text : {"postgresql://alice:S3cr3t%21pw@h/app", "postgresql://alice:S3cr3t!pw@@h/app",
                                 "postgresql://alice:S3cr3t!pw%40%3A%2F%3F%23%25@h/app",
                                 "postgresql://alice:S3cr3t!pw%C3%A4@h/app"}) {
            const auto printed = url::parse(text).to_string();
            CHECK_FALSE(contains(printed, "S3cr3t"));
            CHECK(contains(printed, "alice:***@h/app"));
        }
    }
}

TEST_CASE("to_string redacts password options: password, sslpassword, and kin", "[url]") {
    const auto u = url::parse(
        "postgresql://alice:S3cr3t!pw@h/app?sslmode=require&password=S3cr3t!pw&sslpassword=S3cr3t!pw&sb.name=main");
    CHECK(u.to_string() == "postgresql://alice:***@h/app?sslmode=require&password=***&sslpassword=***&sb.name=main");
    // The values stay available to the driver.
    CHECK(u.driver_option("password") == std::string(secret));
    CHECK(u.driver_option("sslpassword") == std::string(secret));

    const auto v = url::parse("mysql://h/app?PWD=S3cr3t!pw&Passwd=S3cr3t!pw&password1=S3cr3t!pw&MyPassword=S3cr3t!pw"
                              "&password=&sb.password=S3cr3t!pw");
    const auto printed = v.to_string();
    CHECK_FALSE(contains(printed, "S3cr3t"));
    CHECK(printed ==
          "mysql://h/app?PWD=***&Passwd=***&password1=***&MyPassword=***&password=***&sb.password=***");
}

TEST_CASE("is_secret_key recognises password-like keys, case-insensitively", "[url]") {
    for (const char* key : {"password", "PASSWORD", "passwd", "pwd", "PWD", "sslpassword", "SSLPassword",
                            "password1", "db_password_file", "old-PassWord", "mysql_passwd"})
        CHECK(url::is_secret_key(key));
    for (const char* key : {"", "user", "sslmode", "pw", "pass", "sslkey", "sslcert", "application_name", "pwdx"})
        CHECK_FALSE(url::is_secret_key(key));
}

TEST_CASE("to_string prints sqlite forms as written", "[url]") {
    CHECK(url::parse("sqlite:///abs/path.db").to_string() == "sqlite:///abs/path.db");
    CHECK(url::parse("sqlite:/abs/path.db").to_string() == "sqlite:///abs/path.db");
    CHECK(url::parse("sqlite:rel.db").to_string() == "sqlite:rel.db");
    CHECK(url::parse("sqlite::memory:").to_string() == "sqlite::memory:");
    CHECK(url::parse("SQLITE:rel.db?busy_timeout=100&sb.pool_size=1").to_string() ==
          "sqlite:rel.db?busy_timeout=100&sb.pool_size=1");
}

TEST_CASE("to_string normalises: lowercase scheme, driver options before library options, re-encoding",
          "[url]") {
    CHECK(url::parse("PostgreSQL://h1,H2:5433/db").to_string() == "postgresql://h1,H2:5433/db");
    CHECK(url::parse("postgresql://h/db?sb.a=1&b=2&c").to_string() == "postgresql://h/db?b=2&c&sb.a=1");
    CHECK(url::parse("postgresql://h/").to_string() == "postgresql://h");
    CHECK(url::parse("postgresql:///db").to_string() == "postgresql:///db");
    CHECK(url::parse("postgresql://[::1]:5432,[fe80::1%25eth0]/db").to_string() ==
          "postgresql://[::1]:5432,[fe80::1%25eth0]/db");
    CHECK(url::parse("postgresql://al%40ice@%2Ftmp/my%20db%3F?k%26=v%23%25&x=a%20b").to_string() ==
          "postgresql://al%40ice@%2Ftmp/my%20db%3F?k%26=v%23%25&x=a%20b");
    CHECK(url::parse("postgresql://h/d%C3%A9j%C3%A0").to_string() == "postgresql://h/d%C3%A9j%C3%A0");
    CHECK(url::parse("postgresql://h/d\xC3\xA9").to_string() == "postgresql://h/d%C3%A9");
}

TEST_CASE("to_string output re-parses to the same URL when there is no password", "[url]") {
    const auto text = GENERATE(as<std::string>{},
                               "sqlite:///abs/path.db",
                               "sqlite:relative/dir/file.db",
                               "sqlite::memory:",
                               "sqlite:///abs/path.db?busy_timeout=100&sb.pool_size=4",
                               "sqlite:%2F%2Fnet%2Fshare.db",
                               "sqlite:my%20file%3F%23%25%40.db",
                               "duckdb:%2F%2Fdouble-slash.duck",
                               "duckdb:plain.duck?x=1",
                               "postgresql://db1.test",
                               "postgresql:///db",
                               "postgresql://:5433/db",
                               "postgresql://alice@db1.test:5432/app?sslmode=require&sb.name=main",
                               "postgresql://h1:5432,h2,[::1]:5434,,[fe80::1%25eth0]/db",
                               "postgresql://%2Fvar%2Frun%2Fpostgresql/db",
                               "postgresql://we%2Cird%3Ahost%40x%5B/db",
                               "mysql://al%40ice%3Ab%2Fc@h/sh%2Fop?init%3Dcmd=SET%20x%3D1%26y&a+b=c+d&empty",
                               "mysql://u@h/db?k=%E2%9C%93&%C3%A4=v&sb.opt%26=a%3Db",
                               "mariadb://h/db?sb.x=1");
    CAPTURE(text);
    const auto first = url::parse(text);
    const auto printed = first.to_string();
    CAPTURE(printed);
    const auto second = url::parse(printed);
    CHECK(second.scheme() == first.scheme());
    CHECK(second.user() == first.user());
    CHECK(second.password() == first.password());
    CHECK(second.hosts() == first.hosts());
    CHECK(second.database() == first.database());
    CHECK(second.driver_options() == first.driver_options());
    CHECK(second.library_options() == first.library_options());
    CHECK(second.to_string() == printed);
}

TEST_CASE("to_string of a URL with a password re-parses to everything but the password", "[url]") {
    const auto first = url::parse("postgresql://al%40ice:S3cr3t!pw%2F@h1:5432,[::1]/app?sslmode=require&sb.name=m");
    const auto second = url::parse(first.to_string());
    CHECK(second.password() == "***");
    CHECK(second.user() == first.user());
    CHECK(second.hosts() == first.hosts());
    CHECK(second.database() == first.database());
    CHECK(second.driver_options() == first.driver_options());
    CHECK(second.library_options() == first.library_options());
}

TEST_CASE("a parsed url is a value: copies are equal and independent", "[url]") {
    const auto a = url::parse("postgresql://alice@h/app?x=1");
    auto b = a;
    CHECK(b.to_string() == a.to_string());
    b = url::parse("sqlite::memory:");
    CHECK(a.to_string() == "postgresql://alice@h/app?x=1");
}
