// SPDX-License-Identifier: MIT
// The in-process writer lock: one per database file, re-entrant per thread, FIFO, with a timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace switchboard::sqlite {

/// Serialises the write transactions of this process on one database file.
///
/// Why: SQLite allows one writer per file; a second BEGIN IMMEDIATE spins in SQLite's busy
/// handler (sleep-and-retry, no order) until busy_timeout. Queueing writers here first makes
/// them wait in arrival order, wake as soon as the lock is free, and time out with a clear
/// errc::lock_timeout. It never lets a caller proceed without the lock.
///
/// Re-entrant for the owning thread (owner + depth), so two connections of one thread to
/// the same file do not deadlock here (SQLite's own lock then decides). The lock is handed
/// directly to the longest waiter on release (no barging), so a busy thread cannot starve
/// the others. unlock() is not checked against the calling thread: a connection may move to
/// another thread between begin() and commit().
///
/// Thread-safe. Obtain the shared instance of a file with for_file(); it lives as long as
/// any connection holds it.
class writer_lock {
public:
    explicit writer_lock(std::string path) : path_(std::move(path)) {}
    writer_lock(const writer_lock&) = delete;
    writer_lock& operator=(const writer_lock&) = delete;

    /// Takes the lock (or one more level of it, if this thread holds it), waiting at most
    /// `timeout`. Returns false, not holding it, if the time ran out.
    [[nodiscard]] bool try_lock_for(std::chrono::milliseconds timeout);

    /// try_lock_for, throwing switchboard::error (errc::lock_timeout, transient, connection
    /// usable) naming the file, the timeout and `database_name` when the time runs out.
    void lock(std::chrono::milliseconds timeout, std::string_view database_name);

    /// Releases one level; at the last one hands the lock to the longest waiter.
    void unlock() noexcept;

    /// The canonical file path this lock guards.
    const std::string& path() const noexcept { return path_; }
    /// Threads queued for the lock now (for tests and diagnostics).
    std::size_t waiting() const;
    /// Whether the calling thread holds the lock.
    bool held_by_this_thread() const;

    /// The process-wide lock of a database file: the same object for every spelling of the
    /// same file (see canonical_path), for as long as anyone holds it.
    static std::shared_ptr<writer_lock> for_file(std::string_view file);

    /// realpath(file); for a file that does not exist yet, realpath of its directory plus
    /// its name; relative paths are taken from the current directory.
    static std::string canonical_path(std::string_view file);

private:
    struct waiter {
        std::thread::id thread;
        std::condition_variable wake;
        bool granted = false;
    };

    const std::string path_;
    mutable std::mutex mutex_;
    std::thread::id owner_;     // default id: free
    std::size_t depth_ = 0;     // re-entrant levels held by owner_
    std::deque<waiter*> queue_; // FIFO; each waiter lives on its thread's stack
};

}  // namespace switchboard::sqlite
