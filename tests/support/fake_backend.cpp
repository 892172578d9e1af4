// SPDX-License-Identifier: MIT
// The scripted in-memory backend: counts every call and fails the ones a test asks it to.
#include "support/fake_backend.hpp"

#include <switchboard/spi/plugin.hpp>

#include <algorithm>
#include <utility>
#include <stdexcept>

namespace switchboard::testing {
namespace {

[[noreturn]] void fail(spi::operation op, long long code) {
    spi::native_error e;
    e.op = op;
    e.code = code;
    e.connection_bad = code == fake_disconnect;
    e.message = "fake failure " + std::to_string(code);
    e.transaction_ended = std::exchange(script().end_transaction_on_failure, false);
    e.not_sent = std::exchange(script().not_sent_on_failure, false);
    e.in_other_result = std::exchange(script().in_other_result_on_failure, false);
    throw spi::native_failure(std::move(e));
}

void maybe_fail(std::optional<long long>& slot, spi::operation op) {
    if (slot) {
        const long long code = *slot;
        slot.reset();
        fail(op, code);
    }
}

value_view view_of(const fake_value& v) {
    return std::visit(
        [](const auto& x) -> value_view {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>) return std::string_view(x);
            else if constexpr (std::is_same_v<T, bytes>) return bytes_view(x);
            else return x;
        },
        v);
}

class fake_statement final : public spi::backend_statement {
public:
    explicit fake_statement(std::string sql) : sql_(std::move(sql)) {
        params_ = static_cast<std::size_t>(std::count(sql_.begin(), sql_.end(), '?'));
        if (auto it = script().columns.find(sql_); it != script().columns.end()) names_ = it->second;
        ++script().live_statements;
    }
    ~fake_statement() override { --script().live_statements; }

    std::size_t parameter_count() const noexcept override { return params_; }
    void execute(std::span<const value_view>) override {
        ++script().executes;
        script().executed.push_back(sql_);
        if (script().throw_foreign_on_execute) {
            script().throw_foreign_on_execute = false;
            throw std::runtime_error("not a switchboard error");
        }
        maybe_fail(script().fail_execute, spi::operation::execute);
        auto it = script().rows.find(sql_);
        rows_ = it == script().rows.end() ? nullptr : &it->second;
        next_ = 0;
        current_ = nullptr;
    }
    bool next_row() override {
        maybe_fail(script().fail_fetch, spi::operation::fetch);
        if (rows_ == nullptr || next_ >= rows_->size()) return false;
        current_ = &(*rows_)[next_++];
        return true;
    }
    std::size_t column_count() const noexcept override { return names_.size(); }
    std::string_view column_name(std::size_t i) const noexcept override { return names_[i]; }
    value_view column(std::size_t i) noexcept override { return view_of((*current_)[i]); }
    std::uint64_t affected_rows() const noexcept override { return 1; }
    std::optional<std::int64_t> last_insert_id() const noexcept override { return 7; }
    void reset() noexcept override {
        rows_ = nullptr;
        current_ = nullptr;
    }

private:
    std::string sql_;
    std::size_t params_ = 0;
    std::vector<std::string> names_;
    const std::vector<std::vector<fake_value>>* rows_ = nullptr;
    const std::vector<fake_value>* current_ = nullptr;
    std::size_t next_ = 0;
};

class fake_connection final : public spi::backend_connection {
public:
    fake_connection() { ++script().live_connections; }
    ~fake_connection() override { --script().live_connections; }
    std::unique_ptr<spi::backend_statement> prepare(std::string_view sql) override {
        ++script().prepares;
        maybe_fail(script().fail_prepare, spi::operation::prepare);
        return std::make_unique<fake_statement>(std::string(sql));
    }
    void begin(tx_mode) override {
        ++script().begins;
        if (auto kind = script().throw_error_on_begin) {
            script().throw_error_on_begin.reset();
            error_info info;
            info.kind = *kind;
            info.transient = true;
            info.message = "writer lock not acquired in time";
            throw_error(std::move(info));
        }
        maybe_fail(script().fail_begin, spi::operation::begin);
    }
    void commit() override {
        ++script().commits;
        maybe_fail(script().fail_commit, spi::operation::commit);
    }
    void rollback() override {
        ++script().rollbacks;
        maybe_fail(script().fail_rollback, spi::operation::rollback);
    }
    void ping() override {
        ++script().pings;
        maybe_fail(script().fail_ping, spi::operation::ping);
    }
    void lock(std::string_view name, std::chrono::milliseconds) override { ++script().locks[std::string(name)]; }
    void unlock(std::string_view name) override { --script().locks[std::string(name)]; }
};

class fake_backend final : public spi::backend {
public:
    std::string_view name() const noexcept override { return "fake"; }
    spi::capability capabilities() const noexcept override { return spi::capability::last_insert_id; }
    void validate(const url&) const override {}
    std::unique_ptr<spi::backend_connection> connect(const spi::connect_request&) override {
        ++script().connects;
        maybe_fail(script().fail_connect, spi::operation::connect);
        if (script().failing_connects > 0) {
            --script().failing_connects;
            fail(spi::operation::connect, script().failing_connect_code);
        }
        return std::make_unique<fake_connection>();
    }
    spi::classification classify(const spi::native_error& e) const noexcept override {
        switch (e.code) {
            case fake_disconnect: return spi::classification::of(errc::disconnected);
            case fake_serialization: return spi::classification::of(errc::serialization);
            case fake_syntax: return spi::classification::of(errc::syntax);
            case fake_refused: return spi::classification::of(errc::connect_failed);
            case fake_auth: {
                auto c = spi::classification::of(errc::connect_failed);
                c.transient = false;
                return c;
            }
            default: return spi::classification::of(errc::other);
        }
    }
};

spi::backend* create_fake() { return new fake_backend; }
const char* const fake_schemes[] = {"fake", nullptr};
const switchboard_plugin_descriptor descriptor = spi::make_descriptor("fake", "test", fake_schemes, &create_fake);

}  // namespace

fake_script& script() {
    static fake_script s;
    return s;
}

const switchboard_plugin_descriptor& fake_descriptor() { return descriptor; }

plugin_registry& fake_registry() {
    static plugin_registry* r = [] {
        auto* reg = new plugin_registry;
        reg->use_environment(false);
        reg->use_default_directories(false);
        reg->register_static(descriptor);
        return reg;
    }();
    return *r;
}

database fake_database(std::string_view url) { return fake_database(url, {}); }

database fake_database(std::string_view url, database_options options) {
    script().reset();
    options.registry = &fake_registry();
    return database(url, std::move(options));
}

}  // namespace switchboard::testing
