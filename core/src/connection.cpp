// SPDX-License-Identifier: MIT
// Connections: statement cache, the doomed-until-rollback state machine, transactions.
#include "connection_core.hpp"

#include <switchboard/connection.hpp>
#include <switchboard/transaction.hpp>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <random>
#include <stop_token>
#include <thread>
#include <string>

namespace switchboard {
namespace detail {
namespace {

// Waits `delay`, returning early (false) when `cancel` is requested.
bool wait_or_cancelled(std::chrono::milliseconds delay, const std::stop_token& cancel) {
    if (!cancel.stop_possible()) {
        std::this_thread::sleep_for(delay);
        return true;
    }
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    return !cv.wait_for(lock, cancel, delay, [] { return false; }) && !cancel.stop_requested();
}

// The first word of a statement, upper-cased, after white space and comments.
std::string_view next_word(std::string_view sql, std::size_t& pos, std::string& buf) {
    for (;;) {
        while (pos < sql.size() && std::isspace(static_cast<unsigned char>(sql[pos]))) ++pos;
        if (sql.compare(pos, 2, "--") == 0) {
            pos = sql.find('\n', pos);
            if (pos == std::string_view::npos) pos = sql.size();
        } else if (sql.compare(pos, 2, "/*") == 0) {
            pos = sql.find("*/", pos + 2);
            pos = pos == std::string_view::npos ? sql.size() : pos + 2;
        } else {
            break;
        }
    }
    buf.clear();
    while (pos < sql.size() && std::isalpha(static_cast<unsigned char>(sql[pos])))
        buf += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[pos++])));
    return buf;
}

// Whether the word INTO appears outside quotes and comments: SELECT ... INTO creates a table
// (PostgreSQL) or writes a file (MySQL INTO OUTFILE). Cheap and cautious: an INTO anywhere
// in a SELECT makes it a write, except MySQL's INTO @variable. Backslash escapes inside
// quotes are not followed (a rare literal like 'it\'s' may hide a later INTO).
bool has_into(std::string_view sql) {
    std::size_t i = 0;
    while (i < sql.size()) {
        const char ch = sql[i];
        if (ch == '\'' || ch == '"' || ch == '`') {
            const std::size_t end = sql.find(ch, i + 1);
            i = end == std::string_view::npos ? sql.size() : end + 1;
        } else if (sql.compare(i, 2, "--") == 0) {
            const std::size_t end = sql.find('\n', i);
            i = end == std::string_view::npos ? sql.size() : end;
        } else if (sql.compare(i, 2, "/*") == 0) {
            const std::size_t end = sql.find("*/", i + 2);
            i = end == std::string_view::npos ? sql.size() : end + 2;
        } else if (std::isalpha(static_cast<unsigned char>(ch)) || ch == '_') {
            const std::size_t start = i;
            while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_')) ++i;
            if (i - start == 4) {
                std::string w(sql.substr(start, 4));
                for (char& x : w) x = static_cast<char>(std::toupper(static_cast<unsigned char>(x)));
                if (w == "INTO") {
                    // MySQL's INTO @variable only sets session variables.
                    std::size_t next = i;
                    while (next < sql.size() && std::isspace(static_cast<unsigned char>(sql[next]))) ++next;
                    if (next >= sql.size() || sql[next] != '@') return true;
                }
            }
        } else {
            ++i;
        }
    }
    return false;
}

}  // namespace

bool is_transaction_control(std::string_view sql) {
    std::size_t pos = 0;
    std::string word;
    const std::string first(next_word(sql, pos, word));
    if (first == "BEGIN" || first == "COMMIT" || first == "END" || first == "ABORT") return true;
    if (first == "START") return next_word(sql, pos, word) == "TRANSACTION";
    if (first == "ROLLBACK") {
        // ROLLBACK [TRANSACTION|WORK] TO [SAVEPOINT] x undoes part of a transaction: allowed.
        std::string_view next = next_word(sql, pos, word);
        if (next == "TRANSACTION" || next == "WORK") next = next_word(sql, pos, word);
        return next != "TO";
    }
    return false;
}

bool is_read_statement(std::string_view sql) {
    std::size_t pos = 0;
    std::string word;
    const std::string first(next_word(sql, pos, word));
    if (first == "SHOW" || first == "TABLE") return true;
    if (first == "SELECT" || first == "VALUES") return !has_into(sql.substr(pos));
    if (first == "EXPLAIN" || first == "DESCRIBE" || first == "DESC") {
        // EXPLAIN ANALYZE runs the statement (PostgreSQL; MySQL also as DESC ANALYZE), and
        // EXPLAIN (ANALYZE) too: judged by its options only when they are plain words.
        const std::string_view next = next_word(sql, pos, word);
        return !next.empty() && next != "ANALYZE" && next != "ANALYSE";
    }
    return false;
}

connection_core::connection_core(database db)
    : db_(std::move(db)), backend_(&db_.backend()), cache_capacity_(db_.statement_cache_size()) {}

connection_core::~connection_core() {
    close();
    detach_results();
}

void connection_core::detach_results() noexcept {
    // After close() every slot a result still runs is loose (drop() moved the cached ones
    // there) and has no statement; hand each to its result.
    for (statement_slot* slot : loose_) {
        if (slot->owner != nullptr) slot->owner->core_ = nullptr;
    }
    loose_.clear();
}

namespace {

// The error of a backoff that ends without a connection: connect_failed with the count of
// attempts, the time spent and the last cause.
[[noreturn]] void give_up(const error& last, unsigned attempts, std::chrono::steady_clock::time_point started,
                          const reconnect_policy& policy) {
    const bool cancelled = policy.cancel.stop_requested();
    const auto spent =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    error_info info = last.info();
    info.kind = errc::connect_failed;
    info.connection_usable = false;
    info.transient = !cancelled;
    info.message = std::string(cancelled ? "cancelled" : "gave up") + " after " + std::to_string(attempts) +
                   " connection attempt(s) in " + std::to_string(spent.count()) + " ms (backoff deadline " +
                   std::to_string(policy.deadline.count()) + " ms); last cause: " + last.message();
    throw_error(std::move(info));
}

}  // namespace

void connection_core::open(const reconnect_policy& policy) {
    const auto started = std::chrono::steady_clock::now();
    const bool reconnect = session_ != 0;
    for (unsigned attempt = 1;; ++attempt) {
        try {
            open_once();
        } catch (const error& e) {
            const auto attempt_failed = [&](std::chrono::milliseconds delay) {
                event ev{event_kind::connect_attempt_failed};
                ev.cause = &e;
                ev.attempt = attempt;
                ev.delay = delay;
                ev.reconnect = reconnect;
                db_.notify(ev);
            };
            // Only a failure that another attempt may cure is retried, and only under backoff.
            if (policy.kind != reconnect_policy::mode::backoff || !e.is_transient()) {
                attempt_failed({});
                throw;
            }
            // Full jitter: a random wait up to the capped exponential bound.
            thread_local std::minstd_rand rng{std::random_device{}()};
            const auto cap = policy.delay_cap(attempt);
            const auto delay = std::chrono::milliseconds(
                std::uniform_int_distribution<long long>(0, static_cast<long long>(cap.count()))(rng));
            // Never start an attempt past the deadline: giving up then keeps the total within
            // the deadline plus one connect timeout.
            if (policy.cancel.stop_requested() ||
                std::chrono::steady_clock::now() - started + delay >= policy.deadline) {
                attempt_failed({});
                give_up(e, attempt, started, policy);
            }
            attempt_failed(delay);
            if (!wait_or_cancelled(delay, policy.cancel)) give_up(e, attempt, started, policy);
            continue;
        }
        if (db_.observer() != nullptr) {
            event ev{event_kind::connected};
            ev.attempt = attempt;
            ev.elapsed = std::chrono::steady_clock::now() - started;
            ev.reconnect = reconnect;
            db_.notify(ev);
        }
        return;
    }
}

void connection_core::open_once() {
    const spi::connect_request request{db_.location(), db_.name()};
    conn_ = guarded({}, [&] { return backend_->connect(request); });
    if (!conn_) plugin_fault("connect() returned no connection", {});
    state_ = connection_state::idle;
    lost_ = false;
    aborted_ = false;
    ++session_;
}

void connection_core::close() noexcept {
    if (state_ == connection_state::in_transaction && conn_) {
        try {
            conn_->rollback();
        } catch (...) {  // closing anyway; the server rolls back a closed session
        }
    }
    drop();
    state_ = connection_state::closed;
    lost_ = false;
}

void connection_core::drop() noexcept {
    // Statements die before the connection that prepared them (spi/backend.hpp). A slot in
    // use by a live result stays, with no statement: the result then reports the loss.
    last_ = nullptr;
    for (statement_slot* slot : loose_) {
        orphan(*slot);
        slot->statement.reset();
    }
    for (auto it = cache_.begin(); it != cache_.end(); it = cache_.erase(it)) {
        orphan(*it->second);
        it->second->statement.reset();
        if (it->second->in_use) {
            it->second->cached = false;              // the result deletes it on release
            loose_.push_back(it->second.release());  // ownership passes to the result
        }
    }
    conn_.reset();
    aborted_ = false;
}

statement_slot& connection_core::acquire(std::string_view sql) {
    check_open(sql);
    if (last_ != nullptr && !last_->in_use && last_->sql == sql) [[likely]] {
        last_->in_use = true;
        last_->last_used = ++clock_;
        return *last_;
    }
    if (auto it = cache_.find(sql); it != cache_.end() && !it->second->in_use) {
        statement_slot& slot = *it->second;
        slot.in_use = true;
        slot.last_used = ++clock_;
        last_ = &slot;
        return slot;
    }
    if (is_transaction_control(sql))
        throw_usage("transaction control as statement text is refused: use begin(), commit() and rollback(), "
                    "so that the connection knows its state (and SQLite takes its writer lock)",
                    sql);
    auto slot = std::make_unique<statement_slot>();
    slot->sql = std::string(sql);
    // The slot's own text, so that a failure here is told apart from every open result's
    // (the caller's view may be an open result's sql()).
    slot->statement = guarded(slot->sql, [&] { return conn_->prepare(slot->sql); });
    if (!slot->statement) plugin_fault("prepare() returned no statement", sql);
    slot->parameters = slot->statement->parameter_count();
    slot->in_use = true;
    slot->last_used = ++clock_;
    // Cache it unless the cache is off or this text is already cached (and busy: a result
    // over the same statement is still open, so this run gets its own).
    if (cache_capacity_ == 0 || cache_.find(sql) != cache_.end()) {
        loose_.push_back(slot.get());
        return *slot.release();
    }
    evict_if_full();
    slot->cached = true;
    statement_slot* raw = slot.get();
    cache_.emplace(raw->sql, std::move(slot));
    last_ = raw;
    return *raw;
}

void connection_core::orphan(statement_slot& slot) noexcept {
    if (slot.owner != nullptr) {
        slot.owner->statement_ = nullptr;
        slot.owner->columns_ = 0;
    }
}

void connection_core::evict_if_full() {
    while (cache_.size() >= cache_capacity_) {
        auto victim = cache_.end();
        for (auto it = cache_.begin(); it != cache_.end(); ++it)
            if (!it->second->in_use && (victim == cache_.end() || it->second->last_used < victim->second->last_used))
                victim = it;
        if (victim == cache_.end()) return;  // all busy: the cache grows past its bound for a moment
        if (victim->second.get() == last_) last_ = nullptr;
        cache_.erase(victim);
    }
}

void connection_core::release(statement_slot& slot) noexcept {
    if (slot.statement) slot.statement->reset();
    slot.in_use = false;
    slot.owner = nullptr;
    if (!slot.cached) {
        std::erase(loose_, &slot);
        delete &slot;
    }
}

void connection_core::begin(tx_mode mode, const reconnect_policy& policy) {
    if (state_ == connection_state::in_transaction)
        throw_usage("begin(): a transaction is already open on this connection", "BEGIN");
    if (state_ == connection_state::doomed) throw_not_open("BEGIN");
    // The one place a connection is re-established: never inside a transaction.
    if (state_ == connection_state::closed) {
        open(policy);
    } else {
        // An idle connection may have died unnoticed (server restarted while idle). BEGIN has
        // no effect worth keeping, so a BEGIN that finds the connection gone reconnects once
        // and begins again: a restart while idle costs the next unit of work nothing.
        try {
            guarded("BEGIN", [&] { conn_->begin(mode); });
            state_ = connection_state::in_transaction;
            ++tx_serial_;
            return;
        } catch (const error& e) {
            // A result of a write still open when the connection died: its outcome is the
            // caller's to learn, not to be reconnected away.
            if (e.connection_usable() || e.kind() == errc::commit_outcome_unknown) throw;
        }
        open(policy);
    }
    guarded("BEGIN", [&] { conn_->begin(mode); });
    state_ = connection_state::in_transaction;
    aborted_ = false;
    ++tx_serial_;
}

void connection_core::commit() {
    if (state_ != connection_state::in_transaction || aborted_) {
        if (state_ == connection_state::idle) throw_usage("commit(): no transaction is open", "COMMIT");
        throw_not_open("COMMIT");
    }
    guarded("COMMIT", [&] { conn_->commit(); });
    state_ = connection_state::idle;
}

void connection_core::rollback() {
    switch (state_) {
        case connection_state::idle:
        case connection_state::closed: return;  // nothing to roll back
        case connection_state::doomed:
            // The server has already lost the session, and with it the transaction.
            drop();
            state_ = connection_state::closed;
            lost_ = true;
            return;
        case connection_state::in_transaction: break;
    }
    try {
        guarded("ROLLBACK", [&] { conn_->rollback(); });
        state_ = connection_state::idle;
        aborted_ = false;
    } catch (const error& e) {
        if (e.connection_usable()) throw;
        // A rollback on a dead connection succeeds locally: the server rolls back a lost
        // session. The state is already closed or doomed; settle on closed.
        drop();
        state_ = connection_state::closed;
        lost_ = true;
    }
}

void connection_core::lock(std::string_view name, std::chrono::milliseconds timeout) {
    const std::string what = "lock '" + std::string(name) + "'";
    check_open(what);
    guarded(what, [&] { conn_->lock(name, timeout); });
}

void connection_core::unlock(std::string_view name) {
    const std::string what = "unlock '" + std::string(name) + "'";
    try {
        guarded(what, [&] { conn_->unlock(name); });
    } catch (const error& e) {
        // A lost session released its locks; but a write whose result was open may have
        // committed, and that the caller must hear.
        if (e.connection_usable() || e.kind() == errc::commit_outcome_unknown) throw;
    }
}

void connection_core::ping() {
    check_open("ping");
    const bool result_open = !loose_.empty() || std::any_of(cache_.begin(), cache_.end(), [](const auto& entry) {
                                 return entry.second->in_use;
                             });
    if (result_open) throw_usage("ping(): a result of this connection is still alive; destroy it first", "ping");
    guarded("ping", [&] { probing([&] { conn_->ping(); }); });
}

server_identity connection_core::identity() {
    check_open("server identity");
    return guarded("server identity", [&] { return probing([&] { return conn_->identity(); }); });
}

bool connection_core::open_autocommit_write(const statement_slot& slot, std::string_view current) {
    return slot.in_use && slot.owner != nullptr && slot.statement != nullptr && slot.autocommit &&
           slot.sql.data() != current.data() && !is_read_statement(slot.sql);
}

bool connection_core::open_result_may_write(std::string_view current, const spi::backend_statement* which) const {
    // The statement of this call itself is told apart by identity (its text may equal another
    // open result's: the same statement, run again while its previous result is open).
    const auto may_write = [&](const statement_slot& slot) {
        return (which == nullptr || slot.statement.get() == which) && open_autocommit_write(slot, current);
    };
    return std::any_of(cache_.begin(), cache_.end(), [&](const auto& entry) { return may_write(*entry.second); }) ||
           std::any_of(loose_.begin(), loose_.end(), [&](const statement_slot* slot) { return may_write(*slot); });
}

void connection_core::fail(const spi::native_failure& failure, std::string_view sql) {
    const spi::native_error& native = failure.error();
    spi::classification c = backend_->classify(native);
    // Two rules that hold for every backend: a failed connect is never a "disconnection",
    // and a connection lost during COMMIT leaves the outcome unknown.
    if (native.op == spi::operation::connect && c.kind == errc::disconnected) c = spi::classification::of(errc::connect_failed);
    if (native.op == spi::operation::commit && c.kind == errc::disconnected) c = spi::classification::of(errc::commit_outcome_unknown);
    // Outside a transaction every statement commits by itself: a write whose connection is
    // lost once it was sent may have committed, and so may a write whose result was still
    // open and the connection was lost while reading its rest (MySQL reads it when the next
    // command needs the wire, whatever that command is: a probe, a lock, BEGIN).
    if (c.kind == errc::disconnected && state_ == connection_state::idle && native.op != spi::operation::connect &&
        native.op != spi::operation::commit) {
        const bool statement = native.op == spi::operation::execute || native.op == spi::operation::fetch;
        if ((statement && !native.not_sent && !is_read_statement(sql)) ||
            (native.in_other_result && open_result_may_write(sql, native.other_statement)))
            c = spi::classification::of(errc::commit_outcome_unknown);
    }
    if (native.op == spi::operation::connect) c.connection_usable = false;

    error_info info;
    info.kind = c.kind;
    info.transient = c.transient;
    info.connection_usable = c.connection_usable;
    info.message = native.message;
    info.sqlstate = native.sqlstate;
    info.native_code = native.code;
    info.backend = std::string(backend_->name());
    info.database = db_.name();
    info.statement = std::string(sql);
    if (native.transaction_ended && state_ == connection_state::in_transaction && c.connection_usable) {
        // The server ended the transaction: refuse the rest of it until rollback(), so that
        // no later statement commits on its own outside the transaction the caller believes in.
        aborted_ = true;
        info.message += " (the database ended the transaction; call rollback())";
    }
    if (!c.connection_usable && native.op != spi::operation::connect && db_.observer() != nullptr) {
        try {
            throw_error(std::move(info));
        } catch (const error& e) {
            note(e);  // doomed or closed, and the observer told
            throw;
        }
    }
    if (!c.connection_usable && native.op != spi::operation::connect) lose();
    throw_error(std::move(info));
}

void connection_core::translate_current(std::string_view sql) {
    try {
        throw;
    } catch (const spi::native_failure& e) {
        fail(e, sql);
    } catch (const error& e) {
        note(e);
        // A backend's own error (an in-process lock timeout, say) gets the same context as a
        // classified one: which backend, which database, which statement.
        if (!e.backend().empty() && !e.database().empty() && (sql.empty() || !e.statement().empty())) throw;
        error_info info = e.info();
        if (info.backend.empty()) info.backend = std::string(backend_->name());
        if (info.database.empty()) info.database = db_.name();
        if (info.statement.empty()) info.statement = std::string(sql);
        throw_error(std::move(info));
    } catch (const std::exception& e) {
        plugin_fault(e.what(), sql);
    } catch (...) {
        plugin_fault("unknown exception", sql);
    }
}

spi::backend_statement& connection_core::run(statement_slot& slot, std::span<const value_view> params) {
    if (params.size() != slot.parameters) [[unlikely]]
        throw_usage("the statement takes " + std::to_string(slot.parameters) + " parameter(s), " +
                        std::to_string(params.size()) + " given",
                    slot.sql);
    spi::backend_statement& stmt = *slot.statement;
    slot.autocommit = state_ == connection_state::idle;
    guarded(slot.sql, [&] { stmt.execute(params); });
    return stmt;
}

void connection_core::note(const error& e) noexcept {
    if (e.connection_usable()) return;
    const bool was_open = conn_ != nullptr;
    const bool in_tx = lose();
    if (was_open && db_.observer() != nullptr) {
        event ev{event_kind::disconnected};
        ev.cause = &e;
        ev.in_transaction = in_tx;
        db_.notify(ev);
    }
}

bool connection_core::lose() noexcept {
    // In a transaction: doomed until rollback(). Outside one: closed; begin() reconnects.
    const bool in_tx = state_ == connection_state::in_transaction || state_ == connection_state::doomed;
    // An open result of a write run outside a transaction: whether it committed is known only
    // from its end, which its reader can no longer read. It is told commit_outcome_unknown.
    try {
        for (auto& entry : cache_)
            if (open_autocommit_write(*entry.second, {})) entry.second->outcome_unknown = true;
        for (statement_slot* slot : loose_)
            if (open_autocommit_write(*slot, {})) slot->outcome_unknown = true;
    } catch (...) {  // is_read_statement could not allocate: those readers hear "lost"
    }
    drop();
    state_ = in_tx ? connection_state::doomed : connection_state::closed;
    lost_ = true;
    return in_tx;
}

void connection_core::plugin_fault(std::string_view what, std::string_view sql) const {
    error_info info;
    info.kind = errc::plugin;
    info.message = "backend '" + std::string(backend_->name()) +
                   "' broke its contract (threw a non-switchboard exception or returned null): " + std::string(what);
    info.backend = std::string(backend_->name());
    info.database = db_.name();
    info.statement = std::string(sql);
    throw_error(std::move(info));
}

void connection_core::throw_usage(std::string message, std::string_view sql) const {
    switchboard::throw_usage(std::move(message), std::string(backend_->name()), db_.name(), std::string(sql));
}

void connection_core::throw_not_open(std::string_view sql) const {
    error_info info;
    info.backend = std::string(backend_->name());
    info.database = db_.name();
    info.statement = std::string(sql);
    if (state_ == connection_state::in_transaction && aborted_) {
        info.kind = errc::usage;
        info.message = "the database ended this transaction after an error; call rollback() before "
                       "anything else";
    } else if (state_ == connection_state::doomed) {
        info.kind = errc::disconnected;
        info.transient = true;
        info.connection_usable = false;
        info.message = "the connection was lost inside a transaction; call rollback() before using it again";
    } else if (lost_) {
        info.kind = errc::disconnected;
        info.transient = true;
        info.connection_usable = false;
        info.message = "the connection was lost; begin() reconnects";
    } else {
        info.kind = errc::usage;
        info.message = "the connection is closed";
    }
    throw_error(std::move(info));
}

}  // namespace detail

// ---- connection ----------------------------------------------------------------------------

connection::connection(const database& db) : core_(std::make_shared<detail::connection_core>(db)) {
    core_->open(core_->effective_policy());
}

connection::connection(const database& db, const reconnect_policy& policy)
    : core_(std::make_shared<detail::connection_core>(db)) {
    core_->open(policy);
}
connection::connection(connection&& other) noexcept = default;
connection& connection::operator=(connection&& other) noexcept = default;
connection::~connection() = default;

detail::connection_core& connection::core() const {
    if (!core_) [[unlikely]]
        switchboard::throw_usage("this connection was moved from; use the connection it was moved to");
    return *core_;
}

command_result connection::execute_params(std::string_view sql, std::span<const value_view> params) {
    detail::connection_core& core = this->core();
    detail::statement_slot& slot = core.acquire(sql);
    struct releaser {
        detail::connection_core& core;
        detail::statement_slot& slot;
        ~releaser() { core.release(slot); }
    } guard{core, slot};
    spi::backend_statement& stmt = core.run(slot, params);
    // A statement with a result (SELECT, RETURNING, a procedure) runs to its end: an error
    // the server sends after the first rows (a statement timeout, a deadlock, a lock wait
    // timeout on a later row) must reach the caller, not vanish with the discarded rows.
    if (stmt.column_count() != 0) [[unlikely]]
        core.guarded(slot.sql, [&] {
            while (stmt.next_row()) {
            }
        });
    return {stmt.affected_rows(), stmt.last_insert_id()};
}

result connection::query_params(std::string_view sql, std::span<const value_view> params) {
    detail::connection_core& core = this->core();
    detail::statement_slot& slot = core.acquire(sql);
    result r(&core, &slot);  // owns the slot from here: releases it on any exit
    spi::backend_statement& stmt = core.run(slot, params);
    r.statement_ = &stmt;
    r.columns_ = stmt.column_count();
    return r;
}

transaction connection::begin(tx_mode mode) {
    detail::connection_core& core = this->core();
    core.begin(mode, core.effective_policy());
    return transaction(core_, mode, core_->transaction_serial());
}

transaction connection::begin(tx_mode mode, const reconnect_policy& policy) {
    core().begin(mode, policy);
    return transaction(core_, mode, core_->transaction_serial());
}

void connection::commit() { core().commit(); }
void connection::rollback() { core().rollback(); }
connection_state connection::state() const noexcept { return core_ ? core_->state() : connection_state::closed; }
std::uint64_t connection::session_count() const noexcept { return core_ ? core_->session() : 0; }
const database& connection::db() const { return core().db(); }
void connection::close() noexcept {
    if (core_) core_->close();
}

named_lock connection::lock(std::string_view name, std::chrono::milliseconds timeout) {
    core().lock(name, timeout);
    return named_lock(core_, core_->session(), std::string(name));
}

server_identity connection::server() { return core().identity(); }
void connection::ping() { core().ping(); }

void connection::throw_no_row(const std::string& statement) {
    switchboard::throw_usage("query_value(): the statement returned no row", {}, {}, statement);
}

// ---- named_lock ----------------------------------------------------------------------------

named_lock::named_lock(named_lock&& other) noexcept
    : core_(std::move(other.core_)), session_(other.session_), name_(std::move(other.name_)) {
    other.core_.reset();
}

named_lock& named_lock::operator=(named_lock&& other) noexcept {
    if (this != &other) {
        if (auto core = session_core()) {
            try {
                core->unlock(name_);
            } catch (...) {  // as in the destructor
            }
        }
        core_ = std::move(other.core_);
        other.core_.reset();
        session_ = other.session_;
        name_ = std::move(other.name_);
    }
    return *this;
}

named_lock::~named_lock() {
    if (auto core = session_core()) {
        try {
            core->unlock(name_);
        } catch (...) {
            // A destructor must not throw; the session releases its locks when it ends.
        }
    }
}

std::shared_ptr<detail::connection_core> named_lock::session_core() const noexcept {
    auto core = core_.lock();
    if (core && core->session_alive(session_)) return core;
    return nullptr;
}

bool named_lock::held() const noexcept { return session_core() != nullptr; }

void named_lock::unlock() {
    auto core = session_core();
    core_.reset();
    if (core) core->unlock(name_);
}

// ---- transaction ---------------------------------------------------------------------------

transaction::transaction(transaction&& other) noexcept
    : core_(std::move(other.core_)), mode_(other.mode_), serial_(other.serial_) {
    other.core_.reset();
}

transaction& transaction::operator=(transaction&& other) noexcept {
    if (this != &other) {
        if (auto core = open_core()) {
            try {
                core->rollback();
            } catch (...) {  // as in the destructor
            }
        }
        core_ = std::move(other.core_);
        other.core_.reset();
        mode_ = other.mode_;
        serial_ = other.serial_;
    }
    return *this;
}

transaction::~transaction() {
    if (auto core = open_core()) {
        try {
            core->rollback();
        } catch (...) {
            // A destructor must not throw; the connection reports its state on its next use.
        }
    }
}

std::shared_ptr<detail::connection_core> transaction::open_core() const noexcept {
    auto core = core_.lock();
    if (!core || core->transaction_serial() != serial_) return nullptr;
    const connection_state s = core->state();
    if (s != connection_state::in_transaction && s != connection_state::doomed) return nullptr;
    return core;
}

bool transaction::active() const noexcept { return open_core() != nullptr; }

void transaction::commit() {
    auto core = core_.lock();
    if (!core || core->transaction_serial() != serial_)
        switchboard::throw_usage("commit(): this transaction is no longer open");
    core->commit();
    core_.reset();  // done: from here on this object never touches the connection again
}

void transaction::rollback() {
    if (auto core = open_core()) core->rollback();
    core_.reset();
}

}  // namespace switchboard
