// SPDX-License-Identifier: MIT
// The state behind a connection: backend connection, statement cache, transaction state machine.
#pragma once

#include <switchboard/database.hpp>
#include <switchboard/error.hpp>
#include <switchboard/reconnect_policy.hpp>
#include <switchboard/result.hpp>
#include <switchboard/spi/backend.hpp>
#include <switchboard/tx_mode.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard::detail {

/// Whether a statement is transaction control (BEGIN, START TRANSACTION, COMMIT, END,
/// ROLLBACK but not ROLLBACK TO, ABORT), which must go through begin()/commit()/rollback().
bool is_transaction_control(std::string_view sql);
/// Whether a statement only reads (SELECT and VALUES without INTO, SHOW, TABLE, EXPLAIN or
/// DESCRIBE without ANALYZE), judged by its text. Anything else may write: when its
/// connection is lost outside a transaction, it may have committed. A SELECT of a function
/// that writes cannot be told from its text and counts as a read.
bool is_read_statement(std::string_view sql);

/// A prepared statement and its bookkeeping. Cached slots belong to the connection_core;
/// an uncached one (cache full of busy statements, or cache disabled) belongs to the result
/// running it and is deleted when released.
struct statement_slot {
    std::string sql;
    result* owner = nullptr;  // the result running it, while in use
    std::size_t parameters = 0;  // parameter_count(), read once at prepare
    std::unique_ptr<spi::backend_statement> statement;  // null once the connection was dropped
    std::uint64_t last_used = 0;
    bool in_use = false;
    bool cached = false;
    // The connection was lost outside a transaction while this slot's result (of a statement
    // that may write) was open: its reader is told commit_outcome_unknown.
    bool outcome_unknown = false;
    bool autocommit = false;  // its last run was outside a transaction
};

/// Everything a connection is. Lives on the heap so that transactions and results can point
/// at it while the connection object itself moves.
class connection_core {
public:
    explicit connection_core(database db);
    ~connection_core();
    connection_core(const connection_core&) = delete;
    connection_core& operator=(const connection_core&) = delete;

    /// Opens the backend connection under the policy: one attempt, or backoff until its
    /// deadline. Throws connect_failed (with the attempt count and last cause) when it gives up.
    void open(const reconnect_policy& policy);
    /// The policy in force for this thread: the innermost reconnect_scope, else the database's.
    const reconnect_policy& effective_policy() const noexcept {
        const reconnect_policy* scoped = reconnect_scope::current();
        return scoped ? *scoped : db_.reconnect();
    }
    void close() noexcept;

    /// A statement ready to execute, from the cache or freshly prepared. Throws as any call.
    statement_slot& acquire(std::string_view sql);
    /// Gives a slot back after a run: resets the statement, deletes an uncached slot.
    void release(statement_slot& slot) noexcept;

    void begin(tx_mode mode, const reconnect_policy& policy);
    void commit();
    void rollback();
    void lock(std::string_view name, std::chrono::milliseconds timeout);
    void unlock(std::string_view name);
    server_identity identity();
    void ping();

    /// Throws unless statements can run now (not doomed, not closed, not aborted).
    void check_open(std::string_view sql) const {
        if (state_ == connection_state::idle || (state_ == connection_state::in_transaction && !aborted_)) [[likely]]
            return;
        throw_not_open(sql);
    }

    /// Classifies a native failure, applies what it means to the connection's state, and
    /// throws the public error.
    [[noreturn]] void fail(const spi::native_failure& failure, std::string_view sql);
    /// A backend threw something that is neither native_failure nor switchboard::error.
    [[noreturn]] void plugin_fault(std::string_view what, std::string_view sql) const;
    /// A switchboard::error thrown by the backend itself: applies its connection flag (and
    /// tells the observer when the connection was lost).
    void note(const error& e) noexcept;

    /// Runs f, turning whatever the backend throws into the public error with this statement.
    template <class F>
    decltype(auto) guarded(std::string_view sql, F&& f) {
        try {
            return std::forward<F>(f)();
        } catch (...) {
            translate_current(sql);
        }
    }
    /// Inside a catch block: rethrows the exception in flight as the public error.
    [[noreturn]] void translate_current(std::string_view sql);

    /// Checks the parameter count and executes the slot's statement.
    spi::backend_statement& run(statement_slot& slot, std::span<const value_view> params);

    [[noreturn]] void throw_usage(std::string message, std::string_view sql) const;

    const database& db() const noexcept { return db_; }
    connection_state state() const noexcept { return state_; }
    std::uint64_t transaction_serial() const noexcept { return tx_serial_; }
    /// Which server session this is: bumped by every open(), so a named lock can tell
    /// whether the session that took it still exists.
    std::uint64_t session() const noexcept { return session_; }
    bool session_alive(std::uint64_t session) const noexcept {
        return session == session_ && conn_ != nullptr && state_ != connection_state::doomed;
    }

private:
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };

    [[noreturn]] void throw_not_open(std::string_view sql) const;
    /// Whether a result other than the statement `current` is open whose statement may write
    /// and ran outside a transaction: only `which`'s, if given.
    bool open_result_may_write(std::string_view current, const spi::backend_statement* which) const;
    /// Whether slot is an open result, other than the call's own statement `current` (told
    /// apart by identity), of a statement that may write and ran outside a transaction.
    static bool open_autocommit_write(const statement_slot& slot, std::string_view current);
    /// Runs a probe of the connection (ping, server identity), not a user statement: its
    /// failures are reported as operation::ping, so a lost connection is never taken for a
    /// write that may have committed.
    template <class F>
    static decltype(auto) probing(F&& f) {
        try {
            return std::forward<F>(f)();
        } catch (spi::native_failure& failure) {
            if (failure.error().op == spi::operation::execute || failure.error().op == spi::operation::fetch)
                failure.error().op = spi::operation::ping;
            throw;
        }
    }
    /// The connection is lost: drops it; doomed if in a transaction (returns true), else closed.
    bool lose() noexcept;
    void open_once();
    /// Detaches live results from this core before it dies: they keep their slot and report
    /// a closed connection.
    void detach_results() noexcept;
    /// Drops the backend connection and every statement (in-use slots keep a null statement).
    void drop() noexcept;
    void evict_if_full();
    /// Detaches a live result from a statement about to be destroyed.
    static void orphan(statement_slot& slot) noexcept;

    database db_;
    spi::backend* backend_;
    std::unique_ptr<spi::backend_connection> conn_;
    connection_state state_ = connection_state::closed;
    bool lost_ = false;     // closed because the connection failed, not because the user closed it
    bool aborted_ = false;  // in a transaction the server already ended after an error
    std::uint64_t tx_serial_ = 0;
    std::uint64_t session_ = 0;
    std::uint64_t clock_ = 0;
    std::size_t cache_capacity_;
    std::unordered_map<std::string, std::unique_ptr<statement_slot>, string_hash, std::equal_to<>> cache_;
    statement_slot* last_ = nullptr;  // the most recently used cached slot: skips hashing for repeats
    std::vector<statement_slot*> loose_;  // uncached slots in use by results, so drop() reaches them
};

}  // namespace switchboard::detail
