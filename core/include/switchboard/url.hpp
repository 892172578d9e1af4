// SPDX-License-Identifier: MIT
// Database URLs: parsing, percent-decoding, library vs driver options, and password-free printing.
#pragma once

#include <switchboard/export.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard {

/// One host of a (possibly multi-host) network URL.
struct host_port {
    std::string host;                ///< name, IPv4, or IPv6 without brackets; may be empty (driver default)
    std::optional<std::uint16_t> port;
    friend bool operator==(const host_port&, const host_port&) = default;
};

/// A parsed database URL. Immutable once parsed; safe to share across threads.
///
/// Accepted forms:
///   sqlite:///abs/path.db      sqlite:relative/path.db      sqlite::memory:
///   postgresql://user:pass@host:5432/db?sslmode=require&sb.name=main
///   postgresql://host1:5432,host2:5433/db          (multi-host; libpq tries them in order)
///   mysql://user@[::1]:3306/db        mariadb://...        (also postgres://)
///
/// User, password, database, option keys and values are percent-decoded. Query keys that
/// start with "sb." are library options (library_options()); every other key is a driver
/// option handed to the backend untouched (driver_options()). A repeated key is an error.
///
/// The password is only available from password(); to_string(), every error message and
/// every log line show "***" in its place, and also for driver options whose key names a
/// password ("password", "sslpassword", ...).
///
/// Errors: parse() throws usage_error naming the part that is wrong, never echoing the input.
class SWITCHBOARD_API url {
public:
    using option = std::pair<std::string, std::string>;

    static url parse(std::string_view text);

    const std::string& scheme() const noexcept { return scheme_; }
    const std::optional<std::string>& user() const noexcept { return user_; }
    const std::optional<std::string>& password() const noexcept { return password_; }
    const std::vector<host_port>& hosts() const noexcept { return hosts_; }
    /// Network URLs: the database name (path without its leading '/'), may be empty.
    /// SQLite: the file path as written ("/abs/path.db", "relative.db") or ":memory:".
    const std::string& database() const noexcept { return database_; }
    const std::vector<option>& driver_options() const noexcept { return driver_options_; }
    /// Library options with the "sb." prefix removed (e.g. "name" for sb.name).
    const std::vector<option>& library_options() const noexcept { return library_options_; }

    std::optional<std::string_view> driver_option(std::string_view key) const noexcept;
    std::optional<std::string_view> library_option(std::string_view key) const noexcept;

    /// The URL with the password (and password-like options) replaced by "***".
    std::string to_string() const;

    /// Whether a driver option key names a secret that must never be printed.
    static bool is_secret_key(std::string_view key) noexcept;

private:
    std::string scheme_;
    std::optional<std::string> user_;
    std::optional<std::string> password_;
    std::vector<host_port> hosts_;
    std::string database_;
    bool network_form_ = false;  // written as scheme://authority/..., not scheme:path
    std::vector<option> driver_options_;
    std::vector<option> library_options_;
};

}  // namespace switchboard
