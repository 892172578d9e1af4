// SPDX-License-Identifier: MIT
// The in-process writer lock and the process-wide registry of one lock per database file.
#include "writer_lock.hpp"

#include <switchboard/error.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <unordered_map>

namespace switchboard::sqlite {

bool writer_lock::try_lock_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::thread::id me = std::this_thread::get_id();
    std::unique_lock guard(mutex_);
    if (owner_ == me) {
        ++depth_;
        return true;
    }
    if (owner_ == std::thread::id{} && queue_.empty()) {
        owner_ = me;
        depth_ = 1;
        return true;
    }
    waiter w{me, {}, false};
    queue_.push_back(&w);
    // unlock() grants under mutex_, so `granted` read here after a timeout is final: a grant
    // that races with the deadline is kept, never lost.
    if (w.wake.wait_until(guard, deadline, [&] { return w.granted; })) return true;
    queue_.erase(std::find(queue_.begin(), queue_.end(), &w));
    return false;
}

void writer_lock::lock(std::chrono::milliseconds timeout, std::string_view database_name) {
    if (try_lock_for(timeout)) return;
    error_info info;
    info.kind = errc::lock_timeout;
    info.transient = true;
    info.connection_usable = true;
    info.message = "timed out after " + std::to_string(timeout.count()) +
                   " ms waiting for the in-process writer lock of " + path_ +
                   " (another connection of this process is in a write transaction on it;"
                   " option writer_lock_timeout)";
    info.backend = "sqlite";
    info.database = std::string(database_name);
    throw_error(std::move(info));
}

void writer_lock::unlock() noexcept {
    std::lock_guard guard(mutex_);
    if (depth_ == 0 || --depth_ > 0) return;
    if (queue_.empty()) {
        owner_ = std::thread::id{};
        return;
    }
    // Hand over directly: the waiter owns the lock before it even wakes. Notified under the
    // mutex because the waiter's condition variable lives on its stack.
    waiter* next = queue_.front();
    queue_.pop_front();
    owner_ = next->thread;
    depth_ = 1;
    next->granted = true;
    next->wake.notify_one();
}

std::size_t writer_lock::waiting() const {
    std::lock_guard guard(mutex_);
    return queue_.size();
}

bool writer_lock::held_by_this_thread() const {
    std::lock_guard guard(mutex_);
    return owner_ == std::this_thread::get_id();
}

std::string writer_lock::canonical_path(std::string_view file) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path p = fs::absolute(fs::path(file), ec);
    if (ec) return std::string(file);
    // weakly_canonical: realpath of the longest existing prefix, the rest appended
    // lexically; for an existing file that is realpath(3) itself.
    fs::path c = fs::weakly_canonical(p, ec);
    return ec ? p.lexically_normal().string() : c.string();
}

std::shared_ptr<writer_lock> writer_lock::for_file(std::string_view file) {
    // Weak entries: the lock lives while a connection holds it; a dead entry is replaced
    // on the next lookup of its file and swept when the map grows.
    static std::mutex registry_mutex;
    static std::unordered_map<std::string, std::weak_ptr<writer_lock>> registry;

    std::string key = canonical_path(file);
    std::lock_guard guard(registry_mutex);
    std::weak_ptr<writer_lock>& slot = registry[key];
    if (std::shared_ptr<writer_lock> existing = slot.lock()) return existing;
    auto made = std::make_shared<writer_lock>(key);
    slot = made;
    if (registry.size() > 64) std::erase_if(registry, [](const auto& e) { return e.second.expired(); });
    return made;
}

}  // namespace switchboard::sqlite
