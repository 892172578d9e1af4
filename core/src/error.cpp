// SPDX-License-Identifier: MIT
// The error taxonomy: names and defaults of kinds, the exception classes, std::error_code glue.
#include <switchboard/error.hpp>
#include <switchboard/server_identity.hpp>
#include <switchboard/tx_mode.hpp>

#include <string>

namespace switchboard {

std::string_view to_string(errc kind) noexcept {
    switch (kind) {
        case errc::connect_failed: return "connect_failed";
        case errc::disconnected: return "disconnected";
        case errc::commit_outcome_unknown: return "commit_outcome_unknown";
        case errc::serialization: return "serialization";
        case errc::deadlock: return "deadlock";
        case errc::lock_timeout: return "lock_timeout";
        case errc::read_only: return "read_only";
        case errc::integrity: return "integrity";
        case errc::syntax: return "syntax";
        case errc::timeout: return "timeout";
        case errc::too_many_connections: return "too_many_connections";
        case errc::permission: return "permission";
        case errc::plugin: return "plugin";
        case errc::usage: return "usage";
        case errc::other: return "other";
    }
    return "unknown";
}

bool is_transient_by_default(errc kind) noexcept {
    switch (kind) {
        // A new connection, or the same work again, may succeed.
        case errc::connect_failed:
        case errc::disconnected:
        case errc::serialization:
        case errc::deadlock:
        case errc::lock_timeout:
        case errc::too_many_connections: return true;
        // The work may already be committed: only the caller can say whether re-running is safe.
        case errc::commit_outcome_unknown: return false;
        default: return false;
    }
}

bool keeps_connection_by_default(errc kind) noexcept {
    switch (kind) {
        case errc::connect_failed:
        case errc::disconnected:
        case errc::commit_outcome_unknown:
        case errc::too_many_connections: return false;
        default: return true;
    }
}

std::string_view to_string(tx_mode m) noexcept { return m == tx_mode::read ? "read" : "write"; }

std::string_view to_string(connection_state s) noexcept {
    switch (s) {
        case connection_state::idle: return "idle";
        case connection_state::in_transaction: return "in_transaction";
        case connection_state::doomed: return "doomed";
        case connection_state::closed: return "closed";
    }
    return "unknown";
}

std::string_view to_string(server_role r) noexcept {
    switch (r) {
        case server_role::primary: return "primary";
        case server_role::standby: return "standby";
        case server_role::unknown: break;
    }
    return "unknown";
}

namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "switchboard"; }
    std::string message(int v) const override { return std::string(to_string(static_cast<errc>(v))); }
};

// "[sqlite main] lock_timeout: <message> (statement: <sql>)"
std::string describe(const error_info& i) {
    std::string s;
    s.reserve(i.message.size() + i.statement.size() + 64);
    if (!i.backend.empty() || !i.database.empty()) {
        s += '[';
        s += i.backend;
        if (!i.backend.empty() && !i.database.empty()) s += ' ';
        s += i.database;
        s += "] ";
    }
    s += to_string(i.kind);
    s += ": ";
    s += i.message;
    if (!i.sqlstate.empty()) {
        s += " (SQLSTATE ";
        s += i.sqlstate;
        s += ')';
    }
    if (!i.statement.empty()) {
        s += " [statement: ";
        // Long statements are cut: the message is for people, the full text is in statement().
        constexpr std::size_t max_shown = 200;
        if (i.statement.size() > max_shown) {
            s.append(i.statement, 0, max_shown);
            s += "...";
        } else {
            s += i.statement;
        }
        s += ']';
    }
    return s;
}

}  // namespace

const std::error_category& switchboard_category() noexcept {
    static const category instance;
    return instance;
}

error::error(error_info info) : std::runtime_error(describe(info)), info_(std::move(info)) {}
error::~error() = default;
connection_error::~connection_error() = default;
transaction_error::~transaction_error() = default;
statement_error::~statement_error() = default;
usage_error::~usage_error() = default;
plugin_error::~plugin_error() = default;

void throw_error(error_info info) {
    switch (info.kind) {
        case errc::connect_failed:
        case errc::disconnected:
        case errc::commit_outcome_unknown:
        case errc::too_many_connections: throw connection_error(std::move(info));
        case errc::serialization:
        case errc::deadlock:
        case errc::lock_timeout:
        case errc::timeout: throw transaction_error(std::move(info));
        case errc::usage: throw usage_error(std::move(info));
        case errc::plugin: throw plugin_error(std::move(info));
        case errc::integrity:
        case errc::syntax:
        case errc::read_only:
        case errc::permission:
        case errc::other: throw statement_error(std::move(info));
    }
    throw statement_error(std::move(info));
}

void throw_usage(std::string message, std::string backend, std::string database, std::string statement) {
    error_info i;
    i.kind = errc::usage;
    i.transient = false;
    i.connection_usable = true;
    i.message = std::move(message);
    i.backend = std::move(backend);
    i.database = std::move(database);
    i.statement = std::move(statement);
    throw_error(std::move(i));
}

}  // namespace switchboard
