// SPDX-License-Identifier: MIT
// Databases: URL and options resolved once into an immutable, shared description.
#include <switchboard/connection.hpp>
#include <switchboard/database.hpp>
#include <switchboard/error.hpp>
#include <switchboard/plugin_registry.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <string>

namespace switchboard {

struct database::state {
    std::string name;
    url location;
    std::shared_ptr<spi::backend> backend;
    std::size_t statement_cache_size = 64;
    reconnect_policy reconnect;
    std::shared_ptr<event_observer> observer;
};

namespace {

std::size_t parse_count(std::string_view key, std::string_view text) {
    std::size_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size())
        throw_usage("library option sb." + std::string(key) + " must be a non-negative integer");
    return v;
}

// Keys come from the URL: shown only when they look like a name, never as arbitrary text.
std::string shown_key(std::string_view key) {
    const bool name_like = key.size() <= 64 && std::all_of(key.begin(), key.end(), [](unsigned char c) {
                               return std::isalnum(c) || c == '_' || c == '-' || c == '.';
                           });
    return name_like ? "'sb." + std::string(key) + "'" : std::string("(a key that is not a plain name)");
}

// The name a database goes by in messages when none is given: its file name or database name.
std::string default_name(const url& u) {
    const std::string& db = u.database();
    if (db.empty()) return u.scheme();
    if (db == ":memory:") return "memory";
    std::string file = std::filesystem::path(db).filename().string();
    return file.empty() ? db : file;
}

}  // namespace

database::database(std::string_view url_text, database_options options) {
    auto s = std::make_shared<state>();
    s->location = url::parse(url_text);
    s->name = options.name;
    s->statement_cache_size = options.statement_cache_size;
    s->reconnect = options.reconnect;
    s->observer = std::move(options.observer);
    const auto ms = [](std::string_view key, std::string_view value) {
        return std::chrono::milliseconds(static_cast<long long>(parse_count(key, value)));
    };
    for (const auto& [key, value] : s->location.library_options()) {
        if (key == "name") s->name = value;
        else if (key == "statement_cache") s->statement_cache_size = parse_count(key, value);
        else if (key == "reconnect") {
            if (value == "fail_fast") s->reconnect.kind = reconnect_policy::mode::fail_fast;
            else if (value == "backoff") s->reconnect.kind = reconnect_policy::mode::backoff;
            else throw_usage("library option sb.reconnect must be fail_fast or backoff");
        } else if (key == "reconnect_deadline") s->reconnect.deadline = ms(key, value);
        else if (key == "reconnect_initial_delay") s->reconnect.initial_delay = ms(key, value);
        else if (key == "reconnect_max_delay") s->reconnect.max_delay = ms(key, value);
        else
            throw_usage("unknown library option " + shown_key(key) +
                        " (known: sb.name, sb.statement_cache, sb.reconnect, sb.reconnect_deadline, "
                        "sb.reconnect_initial_delay, sb.reconnect_max_delay)");
    }
    if (s->name.empty()) s->name = default_name(s->location);
    plugin_registry& registry = options.registry ? *options.registry : plugin_registry::global();
    s->backend = registry.backend_for(s->location.scheme());
    s->backend->validate(s->location);
    state_ = std::move(s);
}

const std::string& database::name() const noexcept { return state_->name; }
const url& database::location() const noexcept { return state_->location; }
std::string database::to_string() const { return state_->location.to_string(); }
std::string_view database::backend_name() const noexcept { return state_->backend->name(); }
spi::capability database::capabilities() const noexcept { return state_->backend->capabilities(); }
std::size_t database::statement_cache_size() const noexcept { return state_->statement_cache_size; }
const reconnect_policy& database::reconnect() const noexcept { return state_->reconnect; }
spi::backend& database::backend() const noexcept { return *state_->backend; }
event_observer* database::observer() const noexcept { return state_->observer.get(); }

void database::notify(event e) const noexcept {
    if (event_observer* o = state_->observer.get()) {
        e.db = this;
        o->on_event(e);
    }
}

connection database::connect() const { return connection(*this); }

}  // namespace switchboard
