// SPDX-License-Identifier: MIT
// An immutable description of one database: name, URL, options, and the backend that serves it.
#pragma once

#include <switchboard/events.hpp>
#include <switchboard/export.hpp>
#include <switchboard/reconnect_policy.hpp>
#include <switchboard/spi/backend.hpp>
#include <switchboard/url.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace switchboard {

class connection;
class plugin_registry;

/// Options of a database that are not in its URL. A library option given in the URL
/// ("sb.<key>=...") overrides the same option given here.
struct database_options {
    /// The name used in messages and routing; URL option sb.name. Default: the database part
    /// of the URL (file name for SQLite).
    std::string name;
    /// Prepared statements kept per connection (least recently used are dropped);
    /// URL option sb.statement_cache. 0 disables the cache.
    std::size_t statement_cache_size = 64;
    /// How connections re-establish themselves (at connect and at begin()); URL options
    /// sb.reconnect=fail_fast|backoff, sb.reconnect_deadline, sb.reconnect_initial_delay,
    /// sb.reconnect_max_delay (ms). A reconnect_scope or a begin() argument overrides it.
    reconnect_policy reconnect;
    /// Where to look up the backend; nullptr means plugin_registry::global().
    plugin_registry* registry = nullptr;
    /// Told about connects, lost connections, retries and pool events of this database
    /// (events.hpp); nullptr: nobody. Shared by every copy of the database.
    std::shared_ptr<event_observer> observer;
};

/// An immutable description of a database. Cheap to copy (copies share one state), safe to
/// share and use from any number of threads. Changing where an application talks to means
/// using another database object, never editing one.
///
/// Construction parses and validates the URL and finds the backend (loading its plugin);
/// it opens no connection. Errors: usage_error (bad URL, unknown option), plugin_error
/// (no backend for the scheme). Messages never contain the password.
class SWITCHBOARD_API database {
public:
    explicit database(std::string_view url_text, database_options options = {});

    const std::string& name() const noexcept;
    const url& location() const noexcept;
    /// The URL with its password replaced by "***".
    std::string to_string() const;
    std::string_view backend_name() const noexcept;
    spi::capability capabilities() const noexcept;
    bool has(spi::capability c) const noexcept { return spi::has(capabilities(), c); }
    std::size_t statement_cache_size() const noexcept;
    /// The default reconnect policy of this database's connections.
    const reconnect_policy& reconnect() const noexcept;

    /// The observer given in database_options, or nullptr.
    event_observer* observer() const noexcept;
    /// Tells the observer, if any, about e (e.db is filled in). Never throws.
    void notify(event e) const noexcept;
    /// Opens a new connection. Throws connection_error (errc::connect_failed, ...).
    connection connect() const;

    /// The backend serving this database (plugin authors and core internals).
    spi::backend& backend() const noexcept;

private:
    struct state;
    std::shared_ptr<const state> state_;
};

}  // namespace switchboard
