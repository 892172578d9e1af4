// SPDX-License-Identifier: MIT
// The MySQL/MariaDB URL checks (no server): hosts, driver options, TLS modes, secrets kept out of messages, lock names.
#include "mysql_connection.hpp"

#include <switchboard/error.hpp>
#include <switchboard/url.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>

using switchboard::errc;
using switchboard::url;
using switchboard::mysql::mysql_options;
using switchboard::mysql::ssl_mode;

namespace {

std::string refusal(const std::string& text) {
    try {
        (void)mysql_options::from(url::parse(text));
    } catch (const switchboard::usage_error& e) {
        CHECK(e.kind() == errc::usage);
        return e.what();
    }
    FAIL("expected a usage_error for " << text);
    return {};
}

}  // namespace

TEST_CASE("mysql options: a plain URL", "[mysql][options]") {
    const mysql_options o = mysql_options::from(url::parse("mysql://app:s3cr3t@db.example:3307/shop"));
    CHECK(o.host == "db.example");
    CHECK(o.port == 3307);
    CHECK(o.user == "app");
    CHECK(o.password == "s3cr3t");
    CHECK(o.database == "shop");
    CHECK(o.ssl == ssl_mode::disabled);
    CHECK(o.connect_timeout == 0);

    const mysql_options d = mysql_options::from(url::parse("mariadb://app@[::1]/shop"));
    CHECK(d.host == "::1");
    CHECK(d.port == 0);  // Connector/C's default
    CHECK_FALSE(d.password);
}

TEST_CASE("mysql options: timeouts in whole seconds", "[mysql][options]") {
    const mysql_options o =
        mysql_options::from(url::parse("mysql://u@h/db?connect_timeout=5&read_timeout=30&write_timeout=31"));
    CHECK(o.connect_timeout == 5);
    CHECK(o.read_timeout == 30);
    CHECK(o.write_timeout == 31);
    CHECK(refusal("mysql://u@h/db?connect_timeout=1.5").find("whole seconds") != std::string::npos);
    CHECK(refusal("mysql://u@h/db?read_timeout=-1").find("read_timeout") != std::string::npos);
    CHECK(refusal("mysql://u@h/db?write_timeout=99999999").find("write_timeout") != std::string::npos);
    (void)refusal("mysql://u@h/db?connect_timeout=");
}

TEST_CASE("mysql options: one host only", "[mysql][options]") {
    CHECK(refusal("mysql://u@h1:3306,h2:3306/db").find("one host") != std::string::npos);
}

TEST_CASE("mysql options: unknown options are refused, listing the known ones", "[mysql][options]") {
    const std::string m = refusal("mysql://u@h/db?sslmode=require");
    CHECK(m.find("sslmode") != std::string::npos);
    CHECK(m.find("ssl_mode") != std::string::npos);
    CHECK(m.find("connect_timeout") != std::string::npos);
    CHECK(refusal("mysql://u@h/db?init_command=SET%20x%3D1").find("not supported") != std::string::npos);
    CHECK(refusal("mysql://u@h/db?charset=latin1").find("utf8mb4") != std::string::npos);
    CHECK_NOTHROW(mysql_options::from(url::parse("mysql://u@h/db?charset=UTF8MB4")));
    CHECK_NOTHROW(mysql_options::from(url::parse("mysql://u@h/db?sb.name=main")));  // library options pass
}

TEST_CASE("mysql options: TLS modes enforce and verify when asked", "[mysql][options]") {
    CHECK(mysql_options::from(url::parse("mysql://u@h/db?ssl_mode=required")).ssl == ssl_mode::required);
    const mysql_options v = mysql_options::from(url::parse(
        "mysql://u@h/db?ssl_mode=verify_identity&ssl_ca=/etc/ca.pem&ssl_cert=/c.pem&ssl_key=/k.pem&ssl_crl=/crl.pem"));
    CHECK(v.ssl == ssl_mode::verify_identity);
    CHECK(v.ssl_ca == "/etc/ca.pem");
    CHECK(v.ssl_crl == "/crl.pem");
    CHECK(mysql_options::from(url::parse("mysql://u@h/db?ssl_mode=verify_ca&ssl_capath=/etc/ssl/certs")).ssl ==
          ssl_mode::verify_ca);
    CHECK(mysql_options::from(url::parse("mysql://u@h/db?ssl_mode=disabled")).ssl == ssl_mode::disabled);
    // No opportunistic TLS: certificates without a mode, or with "disabled", are refused.
    CHECK(refusal("mysql://u@h/db?ssl_ca=/etc/ca.pem").find("ssl_mode") != std::string::npos);
    CHECK(refusal("mysql://u@h/db?ssl_mode=disabled&ssl_ca=/etc/ca.pem").find("contradicts") != std::string::npos);
    CHECK(refusal("mysql://u@h/db?ssl_mode=preferred").find("verify_identity") != std::string::npos);
}

TEST_CASE("mysql options: the password never appears in a refusal", "[mysql][options]") {
    for (const std::string text : {"mysql://u:Hunter2Pw@h1,h2/db", "mysql://u:Hunter2Pw@h/db?nope=1",
                                   "mysql://u:Hunter2Pw@h/db?connect_timeout=Hunter2Pw",
                                   "mysql://u:Hunter2Pw@h/db?ssl_mode=Hunter2Pw",
                                   "mysql://u:Hunter2Pw@h/db?password=Hunter2Pw"}) {
        INFO(text);
        CHECK(refusal(text).find("Hunter2Pw") == std::string::npos);
    }
}

TEST_CASE("mysql lock names: short ones as they are, long ones hashed within MariaDB's 64", "[mysql][locks]") {
    using switchboard::mysql::lock_key;
    CHECK(lock_key("jobs") == "jobs");
    const std::string exact(64, 'x');
    CHECK(lock_key(exact) == exact);
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string name = std::string(100, 'n') + std::to_string(i);
        const std::string key = lock_key(name);
        CHECK(key.size() <= 64);
        CHECK(key.rfind("sb:", 0) == 0);
        CHECK(lock_key(name) == key);  // stable
        seen.insert(key);
    }
    CHECK(seen.size() == 1000);
}

TEST_CASE("mysql options: the authentication plugins each TLS mode accepts", "[mysql][options]") {
    using switchboard::mysql::allowed_auth_plugins;
    for (ssl_mode m : {ssl_mode::disabled, ssl_mode::required, ssl_mode::verify_ca, ssl_mode::verify_identity}) {
        const std::string list(allowed_auth_plugins(m));
        INFO(list);
        // Challenge-response and signatures: the password itself never leaves.
        CHECK(list.find("mysql_native_password") != std::string::npos);
        CHECK(list.find("client_ed25519") != std::string::npos);
        // Plugins that send the password as is (MARIADB_OPT_RESTRICTED_AUTH matches by strstr).
        CHECK(list.find("clear") == std::string::npos);
        CHECK(list.find("dialog") == std::string::npos);
        CHECK(list.find("sha256_password") == std::string::npos);
        CHECK(list.find("old_password") == std::string::npos);
        CHECK(list.find("gssapi") == std::string::npos);
        // caching_sha2_password sends the password to whoever completes its full
        // authentication: only to a server whose certificate was verified.
        const bool verified = m == ssl_mode::verify_ca || m == ssl_mode::verify_identity;
        CHECK((list.find("caching_sha2_password") != std::string::npos) == verified);
    }
}
