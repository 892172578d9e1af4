// SPDX-License-Identifier: MIT
// The connection pool: a LIFO idle stack and a FIFO queue of waiters behind one mutex.
//
// Why one lock: an uncontended acquire + release is two short critical sections (pop, push)
// of a handful of loads and stores; a lock-free stack would save little more than the lock
// round trips but would still need a lock for waiters, counters that add up, and
// invalidation racing a return. The lock is a small futex mutex (one compare-and-swap to
// take, one exchange to drop, a system call only under contention) rather than
// pthread_mutex_t, whose generic lock/unlock cost more instructions than the whole rest of
// an acquire + release. Nothing slow runs under it: opening, rolling back and closing
// connections happen outside it, and the fast path neither allocates nor reads a precise clock.
#include <switchboard/error.hpp>
#include <switchboard/events.hpp>
#include <switchboard/pool.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace switchboard {
namespace detail {
namespace {

using ticks = std::int64_t;  // nanoseconds of a monotonic clock
constexpr ticks never = std::numeric_limits<ticks>::max();

// A monotonic clock cheap enough for every acquire and release. CLOCK_MONOTONIC_COARSE
// (Linux) is a read of the kernel's last tick through the vDSO, a few nanoseconds against
// ~20 for CLOCK_MONOTONIC; its resolution (1-4 ms) is far below any sensible lifetime or
// idle timeout.
ticks coarse_now() noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<ticks>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
#else
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
#endif
}

#if defined(__linux__)
// A mutex on a futex ("Futexes Are Tricky", U. Drepper, 2011, mutex #2): 0 free, 1 locked,
// 2 locked and maybe contended. Uncontended lock and unlock are one atomic instruction each;
// a contended lock sleeps in the kernel (no spinning). Meets BasicLockable, for
// std::condition_variable_any.
class futex_mutex {
public:
    void lock() noexcept {
        int expected = 0;
        if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed))
            [[likely]]
            return;
        lock_contended(expected);
    }
    void unlock() noexcept {
        if (state_.exchange(0, std::memory_order_release) == 2) [[unlikely]]
            wake_one();
    }

private:
    int* word() noexcept { return reinterpret_cast<int*>(&state_); }
    void lock_contended(int seen) noexcept {
        if (seen != 2) seen = state_.exchange(2, std::memory_order_acquire);
        while (seen != 0) {
            syscall(SYS_futex, word(), FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
            seen = state_.exchange(2, std::memory_order_acquire);
        }
    }
    void wake_one() noexcept { syscall(SYS_futex, word(), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0); }

    std::atomic<int> state_{0};
    static_assert(sizeof(std::atomic<int>) == sizeof(int) && std::atomic<int>::is_always_lock_free);
};
using pool_mutex = futex_mutex;
#else
using pool_mutex = std::mutex;
#endif

ticks to_ticks(std::chrono::milliseconds d) noexcept {
    return d.count() <= 0 ? never : static_cast<ticks>(d.count()) * 1'000'000;
}

}  // namespace

/// A pooled connection and its bookkeeping. Owned by the idle stack while idle, by its lease
/// while leased.
struct pooled_connection {
    explicit pooled_connection(const database& db) : conn(db) {}
    connection conn;
    ticks expires_at = never;  // opened + max_lifetime - jitter
    ticks last_used = 0;       // when it was last returned
    std::uint64_t generation = 0;  // the pool's generation when it was opened
    // conn.session_count() when the pool last saw it. A lease whose begin() reconnected
    // comes back with a higher count: its old session was lost, and likely its siblings' too.
    std::uint64_t session = 0;
};

/// An acquire() waiting for a connection: a node on its stack, queued first come first
/// served. Whoever frees a connection or a slot hands it to the first node, under the lock.
struct pool_waiter {
    pool_waiter* next = nullptr;
    pooled_connection* handed = nullptr;  // a returned connection, now this waiter's
    bool may_open = false;                // a freed slot, reserved for this waiter to open
    std::condition_variable_any cv;  // with the pool's mutex
};

class pool_state {
public:
    pool_state(database db, pool_options options)
        : db_(std::move(db)),
          options_(options),
          max_lifetime_(to_ticks(options.max_lifetime)),
          idle_timeout_(to_ticks(options.idle_timeout)),
          validate_after_(to_ticks(options.validate_idle_after)) {
        if (options_.max_size == 0) throw_usage("pool: max_size must be at least 1", {}, db_.name());
        if (options_.min_idle > options_.max_size)
            throw_usage("pool: min_idle (" + std::to_string(options_.min_idle) + ") exceeds max_size (" +
                            std::to_string(options_.max_size) + ")",
                        {}, db_.name());
        idle_ = std::make_unique<pooled_connection*[]>(options_.max_size);  // holds every open one
    }

    ~pool_state() {
        for (std::size_t i = 0; i < idle_count_; ++i) delete idle_[i];
    }

    pooled_connection* take();
    void give_back(pooled_connection* c, bool discard) noexcept;
    bool rollback_before_return(pooled_connection* c, bool& discard) noexcept;
    void fill();
    void close_idle(bool invalidate) noexcept;
    void shut_down() noexcept;
    pool_stats stats() const noexcept;

    const database& db() const noexcept { return db_; }
    const pool_options& options() const noexcept { return options_; }

private:
    // Connections to close once the lock is released. A return adds at most two (itself, and
    // one retired in passing) without allocating; a whole idle stack goes to `idle`, whose
    // room is reserved outside the lock (reserve_idle). Nothing allocates under the lock.
    struct victims {
        pooled_connection* few[2] = {};
        std::size_t few_count = 0;
        std::vector<pooled_connection*> idle;
        void add(pooled_connection* c) noexcept { few[few_count++] = c; }  // at most two
        std::size_t size() const noexcept { return few_count + idle.size(); }
    };

    bool reusable(const pooled_connection& c, ticks now) const noexcept {
        return c.generation == generation_ && now < c.expires_at &&
               (idle_timeout_ == never || now - c.last_used < idle_timeout_);
    }
    pooled_connection* open_reserved(std::uint64_t generation);
    void free_slot_locked() noexcept;
    pooled_connection* take_slow(std::unique_lock<pool_mutex>& lock, ticks now);
    // Pings c (leased to the caller already) outside the lock. On failure closes it (its slot
    // stays reserved for the caller, who opens a new connection in it) and, when the
    // connection was lost, invalidates the pool. Returns with the lock held either way.
    bool validate(std::unique_lock<pool_mutex>& lock, pooled_connection* c) noexcept;
    void invalidated(std::size_t closed, const error* cause) const noexcept;
    void waited(std::chrono::steady_clock::time_point since, const error* cause) const noexcept;
    void give_back_slow(pooled_connection* c, bool discard, bool lost, ticks now) noexcept;
    bool idle_expired_locked(ticks now) const noexcept {
        return idle_timeout_ != never && idle_count_ > options_.min_idle && now - idle_[0]->last_used >= idle_timeout_;
    }
    void put_locked(pooled_connection* c, ticks now, victims& out) noexcept;
    void take_idle_locked(victims& out) noexcept;  // out.idle must have room (reserve_idle)
    // Makes room in out.idle for every connection the pool may hold, outside the lock. False
    // when memory is short: the caller then leaves the idle ones to close when next found
    // idle (an older generation is never handed out).
    bool reserve_idle(victims& out) const noexcept {
        try {
            out.idle.reserve(options_.max_size);
            return true;
        } catch (...) {
            return false;
        }
    }
    // waited_since: when the acquire started waiting (nullopt: it did not wait).
    [[noreturn]] void throw_timeout(std::optional<std::chrono::steady_clock::time_point> waited_since);
    // Closes the victims outside the lock, then frees their slots: a slot is free only once
    // its connection is really gone, so the bound holds for live connections, not just for
    // the books (a freed slot may be handed to a waiter, who opens a new one at once).
    void close_all(victims& v) noexcept {
        const std::size_t n = v.size();
        if (n == 0) return;
        // ~connection closes, rolling back if needed
        for (std::size_t i = 0; i < v.few_count; ++i) delete v.few[i];
        for (pooled_connection* c : v.idle) delete c;
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < n; ++i) free_slot_locked();
    }

    const database db_;
    const pool_options options_;
    const ticks max_lifetime_;
    const ticks idle_timeout_;
    const ticks validate_after_;

    mutable pool_mutex mutex_;
    // LIFO: the most recently used on top, so it stays warm and the rest may idle out. An
    // array of max_size, since no more can be open: a push is a store.
    std::unique_ptr<pooled_connection*[]> idle_;
    std::size_t idle_count_ = 0;
    pool_waiter* first_ = nullptr;          // FIFO of waiters
    pool_waiter* last_ = nullptr;
    std::size_t open_ = 0;  // idle + in use + being opened; never above max_size
    std::size_t in_use_ = 0;
    std::size_t waiting_ = 0;
    std::uint64_t created_ = 0;
    std::uint64_t closed_ = 0;
    std::uint64_t timeouts_ = 0;
    std::uint64_t validations_failed_ = 0;
    std::uint64_t generation_ = 0;
    bool shut_ = false;  // the pool object is gone: returned connections close
};

pooled_connection* pool_state::take() {
    const ticks now = coarse_now();
    std::unique_lock lock(mutex_);
    if (idle_count_ != 0) [[likely]] {
        pooled_connection* c = idle_[idle_count_ - 1];
        if (reusable(*c, now) && now - c->last_used < validate_after_) [[likely]] {
            --idle_count_;
            ++in_use_;
            return c;
        }
    }
    return take_slow(lock, now);
}

pooled_connection* pool_state::take_slow(std::unique_lock<pool_mutex>& lock, ticks now) {
    while (idle_count_ != 0) {
        pooled_connection* c = idle_[--idle_count_];
        if (reusable(*c, now)) {
            ++in_use_;
            if (now - c->last_used < validate_after_ || validate(lock, c)) return c;
            // Its ping failed: it is closed, and its slot is still ours; open a new one in it
            // rather than queue behind later acquirers.
            const std::uint64_t generation = generation_;
            lock.unlock();
            return open_reserved(generation);
        }
        // Too old, idle too long, or opened before an invalidation: close it, outside the lock,
        // and only then free its slot.
        ++closed_;
        lock.unlock();
        delete c;
        lock.lock();
        free_slot_locked();
    }
    if (open_ < options_.max_size) {
        ++open_;  // reserve the slot first, so the bound holds while we connect unlocked
        const std::uint64_t generation = generation_;
        lock.unlock();
        return open_reserved(generation);
    }
    if (options_.acquire_timeout.count() <= 0) {
        ++timeouts_;
        lock.unlock();
        throw_timeout(std::nullopt);
    }

    pool_waiter self;
    (last_ ? last_->next : first_) = &self;
    last_ = &self;
    ++waiting_;
    const auto wait_started = std::chrono::steady_clock::now();
    const auto deadline = wait_started + options_.acquire_timeout;
    while (self.handed == nullptr && !self.may_open) {
        if (self.cv.wait_until(lock, deadline) == std::cv_status::timeout && self.handed == nullptr &&
            !self.may_open) {
            // Leave the queue: nobody handed us anything, and nobody can once we unlock.
            pool_waiter** link = &first_;
            pool_waiter* prev = nullptr;
            while (*link != &self) {
                prev = *link;
                link = &(*link)->next;
            }
            *link = self.next;
            if (last_ == &self) last_ = prev;
            --waiting_;
            ++timeouts_;
            lock.unlock();
            throw_timeout(wait_started);
        }
    }
    // Whoever handed us something dequeued us and counted it.
    pooled_connection* handed = self.handed;
    const std::uint64_t generation = generation_;
    lock.unlock();
    waited(wait_started, nullptr);
    if (handed != nullptr) return handed;
    return open_reserved(generation);
}

pooled_connection* pool_state::open_reserved(std::uint64_t generation) {
    pooled_connection* c = nullptr;
    try {
        c = new pooled_connection(db_);  // connects under the reconnect policy in force
    } catch (...) {
        std::lock_guard lock(mutex_);
        free_slot_locked();
        throw;
    }
    const ticks now = coarse_now();
    if (max_lifetime_ != never) {
        // Up to 1/40 earlier, at random, so connections opened together retire apart.
        thread_local std::minstd_rand rng{std::random_device{}()};
        const ticks jitter = std::uniform_int_distribution<ticks>(0, max_lifetime_ / 40)(rng);
        c->expires_at = now + max_lifetime_ - jitter;
    }
    c->last_used = now;
    c->generation = generation;
    c->session = c->conn.session_count();
    std::lock_guard lock(mutex_);
    ++created_;
    ++in_use_;
    return c;
}

void pool_state::free_slot_locked() noexcept {
    // A slot freed while someone waits goes to the first waiter, who opens a connection in it.
    if (pool_waiter* w = first_) {
        first_ = w->next;
        if (first_ == nullptr) last_ = nullptr;
        --waiting_;
        w->may_open = true;
        w->cv.notify_one();  // under the lock: the waiter's node lives until it sees the flag
    } else {
        --open_;
    }
}

void pool_state::put_locked(pooled_connection* c, ticks now, victims& out) noexcept {
    if (pool_waiter* w = first_) {
        first_ = w->next;
        if (first_ == nullptr) last_ = nullptr;
        --waiting_;
        ++in_use_;
        w->handed = c;
        w->cv.notify_one();
        return;
    }
    c->last_used = now;
    idle_[idle_count_++] = c;
    // Retire in passing the connection idle longest (the bottom of the stack), so that a pool
    // busy on a few connections does not keep the rest open forever.
    if (idle_expired_locked(now)) {
        out.add(idle_[0]);
        std::copy(&idle_[1], &idle_[idle_count_], &idle_[0]);
        --idle_count_;
        ++closed_;  // its slot is freed by close_all, once it is closed
    }
}

void pool_state::give_back(pooled_connection* c, bool discard) noexcept {
    const bool lost = (discard || c->conn.state() != connection_state::idle) && rollback_before_return(c, discard);
    const ticks now = coarse_now();
    if (!discard && !lost && c->conn.session_count() == c->session) [[likely]] {
        std::unique_lock lock(mutex_);
        // The common return: healthy, current, nobody waiting, nothing to retire in passing.
        if (first_ == nullptr && !shut_ && c->generation == generation_ && now < c->expires_at &&
            !idle_expired_locked(now)) [[likely]] {
            --in_use_;
            c->last_used = now;
            idle_[idle_count_++] = c;
            return;
        }
    }
    give_back_slow(c, discard, lost, now);
}

bool pool_state::rollback_before_return(pooled_connection* c, bool& discard) noexcept {
    connection& conn = c->conn;
    if (conn.state() == connection_state::idle) return false;
    // A transaction left open must not reach the next user: roll it back. A rollback that
    // fails (with the connection still there) leaves a state we cannot vouch for: close.
    try {
        conn.rollback();  // doomed: settles locally on closed
    } catch (...) {
        discard = true;
    }
    // Closed here means the connection was lost (or closed by its user, which a pool cannot
    // tell apart): either way the server may have dropped its siblings too.
    return conn.state() == connection_state::closed || conn.state() == connection_state::doomed;
}

void pool_state::give_back_slow(pooled_connection* c, bool discard, bool lost, ticks now) noexcept {
    victims out;
    // A connection whose begin() found its session dead and reconnected in place: the lost
    // session counts as closed and the new one as created, and the loss invalidates the
    // pool as any other would. The connection itself is fresh and stays.
    const std::uint64_t session = c->conn.session_count();
    const std::uint64_t reopened = session > c->session ? session - c->session : 0;
    c->session = session;
    const bool invalidate = (lost || reopened != 0) && options_.validate_after_failure;
    std::size_t idle_closed = 0;
    const bool room = invalidate && reserve_idle(out);
    {
        std::lock_guard lock(mutex_);
        --in_use_;
        created_ += reopened;
        closed_ += reopened;
        // The session reopened during the lease is fresh, unless the pool was invalidated
        // meanwhile (invalidate(), or another lease's loss): then it predates that, and goes.
        const bool current = c->generation == generation_;
        if (invalidate) {
            ++generation_;
            if (room) {
                idle_closed = idle_count_;
                take_idle_locked(out);
            }
        }
        if (reopened != 0 && !lost && current) c->generation = generation_;
        if (discard || lost || shut_ || c->generation != generation_ || now >= c->expires_at) {
            ++closed_;
            out.add(c);  // close_all frees the slot once it is closed
        } else {
            put_locked(c, now, out);
        }
    }
    close_all(out);
    if (invalidate) invalidated(idle_closed, nullptr);
}

void pool_state::take_idle_locked(victims& out) noexcept {
    out.idle.insert(out.idle.end(), &idle_[0], &idle_[idle_count_]);
    closed_ += idle_count_;  // close_all frees their slots once they are closed
    idle_count_ = 0;
}

void pool_state::fill() {
    for (;;) {
        std::uint64_t generation;
        {
            std::lock_guard lock(mutex_);
            if (shut_ || idle_count_ >= options_.min_idle || open_ >= options_.max_size) return;
            ++open_;
            generation = generation_;
        }
        pooled_connection* c = open_reserved(generation);
        give_back(c, false);
    }
}

void pool_state::close_idle(bool invalidate) noexcept {
    victims out;
    const bool room = reserve_idle(out);
    {
        std::lock_guard lock(mutex_);
        if (invalidate) ++generation_;  // without room, the stale ones close when next found idle
        if (room) take_idle_locked(out);
    }
    const std::size_t closed = out.size();
    close_all(out);
    if (invalidate) invalidated(closed, nullptr);
}

void pool_state::shut_down() noexcept {
    victims out;
    const bool room = reserve_idle(out);
    {
        std::lock_guard lock(mutex_);
        shut_ = true;
        if (room) take_idle_locked(out);  // else ~pool_state closes them
    }
    close_all(out);
}

pool_stats pool_state::stats() const noexcept {
    std::lock_guard lock(mutex_);
    pool_stats s;
    s.open = open_;
    s.idle = idle_count_;
    s.in_use = in_use_;
    s.waiting = waiting_;
    s.created = created_;
    s.closed = closed_;
    s.timeouts = timeouts_;
    s.validations_failed = validations_failed_;
    s.generation = generation_;
    return s;
}

void pool_state::throw_timeout(std::optional<std::chrono::steady_clock::time_point> waited_since) {
    error_info info;
    info.kind = errc::timeout;
    info.transient = true;
    info.connection_usable = true;
    info.message = "no connection free within " + std::to_string(options_.acquire_timeout.count()) + " ms (pool of " +
                   std::to_string(options_.max_size) + ", all in use)";
    info.backend = std::string(db_.backend_name());
    info.database = db_.name();
    if (!waited_since || db_.observer() == nullptr) throw_error(std::move(info));
    try {
        throw_error(std::move(info));
    } catch (const error& e) {
        waited(*waited_since, &e);
        throw;
    }
}

bool pool_state::validate(std::unique_lock<pool_mutex>& lock, pooled_connection* c) noexcept {
    lock.unlock();
    std::optional<error> failure;
    bool lost = false;
    try {
        c->conn.ping();
        lock.lock();
        return true;
    } catch (const error& e) {
        lost = !e.connection_usable();
        try {
            failure = e;  // for the events below
        } catch (...) {  // no memory: the events go without a cause
        }
    } catch (...) {  // ping() throws only switchboard::error; anything else: do not trust it either
    }
    // Whatever went wrong, this connection cannot be vouched for: close it. Only a lost one
    // says the server dropped its siblings too (a restart): then invalidate.
    delete c;
    const bool invalidate = options_.validate_after_failure && lost;
    victims out;
    const bool room = invalidate && reserve_idle(out);
    lock.lock();
    --in_use_;  // the slot stays reserved (open_) for the caller
    ++closed_;
    ++validations_failed_;
    if (invalidate) {
        ++generation_;
        if (room) take_idle_locked(out);  // else they close when next found idle (older generation)
    }
    lock.unlock();
    const std::size_t closed = out.size();
    close_all(out);
    if (db_.observer() != nullptr) {
        event ev{event_kind::pool_validation_failed};
        ev.cause = failure ? &*failure : nullptr;
        db_.notify(ev);
    }
    if (invalidate) invalidated(closed, failure ? &*failure : nullptr);
    lock.lock();
    return false;
}

void pool_state::invalidated(std::size_t closed, const error* cause) const noexcept {
    if (db_.observer() == nullptr) return;
    event ev{event_kind::pool_invalidated};
    ev.count = closed;
    ev.cause = cause;
    db_.notify(ev);
}

void pool_state::waited(std::chrono::steady_clock::time_point since, const error* cause) const noexcept {
    if (db_.observer() == nullptr) return;
    event ev{event_kind::acquire_waited};
    ev.elapsed = std::chrono::steady_clock::now() - since;
    ev.cause = cause;
    db_.notify(ev);
}

}  // namespace detail

// ---- pool ----------------------------------------------------------------------------------

pool::pool(database db, pool_options options)
    : state_(std::make_shared<detail::pool_state>(std::move(db), options)) {}

pool::~pool() {
    if (state_) state_->shut_down();
}

pool::lease pool::acquire() {
    detail::pooled_connection* c = state_->take();
    return lease(state_, c, &c->conn);
}

void pool::fill() { state_->fill(); }
void pool::close_idle() noexcept { state_->close_idle(false); }
void pool::invalidate() noexcept { state_->close_idle(true); }
pool_stats pool::stats() const noexcept { return state_->stats(); }
const database& pool::db() const noexcept { return state_->db(); }
const pool_options& pool::options() const noexcept { return state_->options(); }

// ---- lease ---------------------------------------------------------------------------------

pool::lease::lease(lease&& other) noexcept
    : state_(std::move(other.state_)),
      item_(std::exchange(other.item_, nullptr)),
      conn_(std::exchange(other.conn_, nullptr)) {}

pool::lease& pool::lease::operator=(lease&& other) noexcept {
    if (this != &other) {
        reset();
        state_ = std::move(other.state_);
        item_ = std::exchange(other.item_, nullptr);
        conn_ = std::exchange(other.conn_, nullptr);
    }
    return *this;
}

pool::lease::~lease() { reset(); }

void pool::lease::reset() noexcept {
    conn_ = nullptr;
    if (item_ != nullptr) state_->give_back(std::exchange(item_, nullptr), false);
    state_.reset();
}

void pool::lease::discard() noexcept {
    conn_ = nullptr;
    if (item_ != nullptr) state_->give_back(std::exchange(item_, nullptr), true);
    state_.reset();
}

}  // namespace switchboard
