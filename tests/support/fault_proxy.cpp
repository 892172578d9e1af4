// SPDX-License-Identifier: MIT
// The fault proxy: one poll() thread owns every socket; controls change state under its mutex and wait for it to act.
#include "support/fault_proxy.hpp"
#include "support/socket_fd.hpp"

#include <arpa/inet.h>
#include <linux/sockios.h>  // SIOCOUTQ
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace switchboard::testing {
namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t read_chunk = 16 * 1024;
// Per direction: above this the proxy stops reading, so a slow reader slows the writer (as TCP
// would) instead of growing memory.
constexpr std::size_t buffer_cap = 64 * 1024;
constexpr std::size_t max_pattern = 4096;
// A control waits this long for the loop thread, which never blocks, so only a dead loop hits it.
constexpr auto control_timeout = 10s;
// The loop wakes at least this often even when nothing happens (belt and braces: the eventfd
// wakes it at once for every change and for stop).
constexpr auto idle_wake = 500ms;
// While an RST waits for delivered bytes to be acknowledged, the socket cannot be polled for it.
constexpr auto drain_poll = 2ms;

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }


void set_int_option(int fd, int level, int name, int value) {
    // Failures here only cost latency or rebinding; the socket still works.
    (void)::setsockopt(fd, level, name, &value, sizeof value);
}

// A socket bound to 127.0.0.1:port, not listening. While refusing, the proxy keeps its port
// this way: connects get RST (ECONNREFUSED), and no other program can take the port meanwhile.
// SO_REUSEADDR because closed proxied connections leave TIME_WAIT entries on the port.
unique_fd bound_socket(std::uint16_t port) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) throw_errno("fault_proxy: socket");
    set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
    const sockaddr_in a = loopback(port);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) throw_errno("fault_proxy: bind");
    return fd;
}

// RST: with a zero linger time, close() aborts the connection instead of the FIN handshake.
void close_rst(unique_fd& fd) noexcept {
    if (!fd.valid()) return;
    const linger l{1, 0};
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    fd.reset();
}

// FIN: close() with unread bytes in the receive queue sends RST instead (tcp_close), so read
// what is there first (bounded: a peer that keeps sending gets its RST).
void close_fin(unique_fd& fd) noexcept {
    if (!fd.valid()) return;
    (void)::shutdown(fd.get(), SHUT_WR);
    std::array<char, 4096> sink;
    for (std::size_t drained = 0; drained < 1024 * 1024;) {
        const ssize_t n = ::recv(fd.get(), sink.data(), sink.size(), MSG_DONTWAIT);
        if (n <= 0) break;
        drained += static_cast<std::size_t>(n);
    }
    fd.reset();
}

void close_with(unique_fd& fd, cut_mode how) noexcept {
    if (how == cut_mode::rst) close_rst(fd);
    else close_fin(fd);
}

// Nothing to do now; poll() reports the socket again when there is (it is level-triggered).
bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

}  // namespace

struct fault_proxy::engine {
    struct rule {
        std::string pattern;
        bool swallow = false;  // else: cut before forwarding
        cut_mode how = cut_mode::rst;
        std::size_t remaining = unlimited;
    };

    // One proxied connection. Owned and touched by the loop thread under `mutex`; controls
    // touch it under the same mutex but never its sockets.
    struct connection {
        unique_fd client, server;
        bool connecting = true;
        clock_type::time_point connect_deadline;
        std::string up, down;  // read, not yet written: client→server, server→client
        bool client_eof = false, server_eof = false;
        bool up_shut = false, down_shut = false;  // the end of stream passed on
        std::optional<std::size_t> budget;        // server→client bytes still allowed
        cut_mode budget_how = cut_mode::rst;
        std::string tail;  // the last client bytes, so a pattern split across reads still matches
        bool swallowing = false, reply_seen = false;
        cut_mode swallow_how = cut_mode::rst;
        clock_type::time_point swallow_deadline;
        bool draining = false;  // truncated: waiting for the client to acknowledge before RST
        clock_type::time_point drain_deadline;
        std::optional<cut_mode> cut;  // cut_all() asked for this
        bool dead = false;
        short client_revents = 0, server_revents = 0;
    };

    fault_proxy_options options;
    std::uint16_t port = 0, upstream_port = 0;
    unique_fd wake;

    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    // Everything below is guarded by `mutex`.
    unique_fd listener;
    bool refusing = false;
    bool stalled = false, rst_accept = false;
    std::optional<std::pair<std::size_t, cut_mode>> truncate;  // for connections accepted later
    std::vector<rule> rules;
    std::size_t longest_pattern = 0;  // only grows: the tail kept for split matches
    std::uint64_t requested = 0, applied = 0;
    bool stopping = false, loop_done = false;
    std::string failure;
    std::size_t accepted = 0, bytes_up = 0, bytes_down = 0, triggered = 0;
    std::vector<std::unique_ptr<connection>> connections;

    std::thread thread;  // last: started once everything above exists

    void signal_wake() const noexcept {
        const std::uint64_t one = 1;
        (void)!::write(wake.get(), &one, sizeof one);  // a full counter already means "wake up"
    }

    // Hands the change made under `lock` to the loop and waits until the loop has acted on it.
    void apply(std::unique_lock<std::mutex>& lock) {
        if (loop_done) throw std::runtime_error("fault_proxy: the proxy thread has stopped: " + failure);
        const std::uint64_t ticket = ++requested;
        signal_wake();
        if (!changed.wait_for(lock, control_timeout, [&] { return applied >= ticket || loop_done; }))
            throw std::runtime_error("fault_proxy: the proxy thread did not apply a change in time");
        if (applied < ticket) throw std::runtime_error("fault_proxy: the proxy thread has stopped: " + failure);
    }

    void add_rule(std::string_view pattern, bool swallow, cut_mode how, std::size_t times) {
        if (pattern.empty() || pattern.size() > max_pattern)
            throw std::invalid_argument("fault_proxy: a pattern needs 1 to " + std::to_string(max_pattern) + " bytes");
        if (times == 0) throw std::invalid_argument("fault_proxy: a pattern rule must be allowed to fire at least once");
        std::unique_lock lock(mutex);
        rules.push_back(rule{std::string(pattern), swallow, how, times});
        longest_pattern = std::max(longest_pattern, pattern.size());
        apply(lock);
    }

    // ---- the loop thread ----------------------------------------------------------------------

    void run() noexcept {
        std::unique_lock lock(mutex);
        try {
            std::vector<pollfd> fds;
            std::vector<connection*> polled;
            while (!stopping) {
                const int timeout = build_poll_set(fds, polled);
                lock.unlock();
                const int n = ::poll(fds.data(), fds.size(), timeout);
                const int poll_errno = errno;
                lock.lock();
                if (n < 0 && poll_errno != EINTR) {
                    errno = poll_errno;
                    throw_errno("fault_proxy: poll");
                }
                if (n > 0 && (fds[0].revents & POLLIN) != 0) {
                    std::uint64_t count = 0;
                    (void)!::read(wake.get(), &count, sizeof count);
                }
                for (std::size_t i = 0; i < polled.size(); ++i) {
                    polled[i]->client_revents = n > 0 ? fds[2 + 2 * i].revents : 0;
                    polled[i]->server_revents = n > 0 ? fds[3 + 2 * i].revents : 0;
                }
                if (n > 0 && fds[1].fd >= 0 && (fds[1].revents & POLLIN) != 0) accept_all();
                const auto now = clock_type::now();
                for (auto& c : connections) {
                    step(*c, now);
                    c->client_revents = c->server_revents = 0;
                }
                std::erase_if(connections, [](const auto& c) { return c->dead; });
                applied = requested;
                changed.notify_all();  // acknowledgements and counters alike
            }
        } catch (const std::exception& e) {
            if (!lock.owns_lock()) lock.lock();
            failure = e.what();
        }
        // Stop: reset everything, so the peers learn at once rather than at their next timeout.
        for (auto& c : connections) close_pair(*c, cut_mode::rst);
        connections.clear();
        listener.reset();
        loop_done = true;
        changed.notify_all();
    }

    // pollfd 0 is the eventfd, 1 the listener, then client and server of each polled connection.
    // A socket with nothing to wait for gets fd -1: poll() would report its errors and hangups
    // anyway, and an unconsumed report would spin the loop (e.g. a reset during a stall).
    int build_poll_set(std::vector<pollfd>& fds, std::vector<connection*>& polled) {
        fds.clear();
        polled.clear();
        fds.push_back({wake.get(), POLLIN, 0});
        const bool can_accept = !refusing && listener.valid() && connections.size() < options.max_connections;
        fds.push_back({can_accept ? listener.get() : -1, POLLIN, 0});
        auto timeout = clock_type::duration(idle_wake);
        const auto now = clock_type::now();
        auto until = [&](clock_type::time_point t) { timeout = std::min(timeout, std::max(t - now, clock_type::duration::zero())); };
        for (auto& cp : connections) {
            connection& c = *cp;
            short client_events = 0, server_events = 0;
            if (c.draining) {
                timeout = std::min<clock_type::duration>(timeout, drain_poll);
            } else if (c.connecting) {
                server_events = POLLOUT;
                until(c.connect_deadline);
            } else if (!stalled) {
                if (!c.client_eof && c.up.size() < buffer_cap) client_events |= POLLIN;
                if (!c.down.empty()) client_events |= POLLOUT;
                const bool may_read = c.swallowing || (c.down.size() < buffer_cap && (!c.budget || *c.budget > 0));
                if (!c.server_eof && may_read) server_events |= POLLIN;
                if (!c.up.empty()) server_events |= POLLOUT;
                if (c.swallowing) until(c.swallow_deadline);
            }
            fds.push_back({client_events != 0 ? c.client.get() : -1, client_events, 0});
            fds.push_back({server_events != 0 ? c.server.get() : -1, server_events, 0});
            polled.push_back(&c);
        }
        // Round up, so a deadline is never polled for 0 ms over and over just before it.
        return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(timeout).count());
    }

    void accept_all() {
        // refusing: refuse(true) raced with this poll round; leave the backlog to be reset.
        while (!refusing && connections.size() < options.max_connections) {
            unique_fd client(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
            if (!client.valid()) {
                if (errno == ECONNABORTED) continue;  // the client gave up while in the backlog
                // EAGAIN: done. EMFILE and kin: leave the rest in the backlog for a later round.
                return;
            }
            ++accepted;
            if (rst_accept) {
                close_rst(client);
                continue;
            }
            auto c = std::make_unique<connection>();
            c->client = std::move(client);
            // Small protocol messages must not wait for Nagle's algorithm on either hop.
            set_int_option(c->client.get(), IPPROTO_TCP, TCP_NODELAY, 1);
            c->server.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            if (!c->server.valid()) {
                close_rst(c->client);
                continue;
            }
            set_int_option(c->server.get(), IPPROTO_TCP, TCP_NODELAY, 1);
            const sockaddr_in a = loopback(upstream_port);
            if (::connect(c->server.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) {
                c->connecting = false;
            } else if (errno == EINPROGRESS) {
                c->connect_deadline = clock_type::now() + options.connect_timeout;
            } else {
                // The server is down: the client sees its connection reset, as through a
                // real proxy or load balancer with no backend.
                close_pair(*c, cut_mode::rst);
                continue;
            }
            if (truncate) {
                c->budget = truncate->first;
                c->budget_how = truncate->second;
            }
            connections.push_back(std::move(c));
        }
    }

    void close_pair(connection& c, cut_mode how) noexcept {
        close_with(c.client, how);
        close_with(c.server, how);
        c.dead = true;
    }

    void step(connection& c, clock_type::time_point now) {
        if (c.dead) return;
        if (c.cut) return close_pair(c, *c.cut);
        if (c.draining) {
            int unacknowledged = 0;
            if (::ioctl(c.client.get(), SIOCOUTQ, &unacknowledged) != 0 || unacknowledged == 0 || now >= c.drain_deadline)
                close_pair(c, cut_mode::rst);
            return;
        }
        if (c.connecting) {
            if (c.server_revents == 0) {
                if (now >= c.connect_deadline) close_pair(c, cut_mode::rst);
                return;
            }
            int error = 0;
            socklen_t length = sizeof error;
            if (::getsockopt(c.server.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
                return close_pair(c, cut_mode::rst);
            c.connecting = false;
            c.server_revents = 0;  // it reported writability, not data
        }
        if (stalled) return;

        if ((c.client_revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !c.client_eof && !read_client(c)) return;
        if (!c.up.empty() && !write_all(c.server, c.up, bytes_up)) return close_pair(c, cut_mode::rst);
        if (c.client_eof && c.up.empty() && !c.up_shut) {
            (void)::shutdown(c.server.get(), SHUT_WR);
            c.up_shut = true;
        }

        if ((c.server_revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !c.server_eof && !read_server(c)) return;
        if (!c.down.empty() && !write_all(c.client, c.down, bytes_down)) return close_pair(c, cut_mode::rst);
        if (c.server_eof && c.down.empty() && !c.down_shut && !c.swallowing) {
            (void)::shutdown(c.client.get(), SHUT_WR);
            c.down_shut = true;
        }

        if (c.up_shut && c.down_shut) {
            // Both ends said goodbye and everything was delivered: an ordinary close.
            c.client.reset();
            c.server.reset();
            c.dead = true;
            return;
        }
        if (c.budget && *c.budget == 0 && c.down.empty()) {
            if (c.budget_how == cut_mode::fin) return close_pair(c, cut_mode::fin);
            c.draining = true;  // the RST must not overtake the bytes the client is owed
            c.drain_deadline = now + options.drain_timeout;
            return;
        }
        if (c.swallowing && (c.reply_seen || now >= c.swallow_deadline)) close_pair(c, c.swallow_how);
    }

    // false when the connection is gone.
    bool read_client(connection& c) {
        std::array<char, read_chunk> buffer;
        const std::size_t room = std::min(buffer.size(), buffer_cap - std::min(buffer_cap, c.up.size()));
        if (room == 0) return true;
        const ssize_t n = ::recv(c.client.get(), buffer.data(), room, MSG_DONTWAIT);
        if (n < 0) {
            if (would_block(errno)) return true;
            close_pair(c, cut_mode::rst);  // the client reset: pass the reset on
            return false;
        }
        if (n == 0) {
            c.client_eof = true;
            return true;
        }
        const std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
        if (!c.swallowing && !rules.empty()) {
            std::string window = c.tail;
            window.append(chunk);
            if (rule* r = match(window, c.tail.size())) {
                ++triggered;
                const rule fired = *r;
                if (--r->remaining == 0) rules.erase(rules.begin() + (r - rules.data()));
                if (!fired.swallow) {
                    close_pair(c, fired.how);
                    return false;
                }
                c.swallowing = true;
                c.swallow_how = fired.how;
                c.swallow_deadline = clock_type::now() + options.swallow_timeout;
            }
        }
        if (longest_pattern > 1) {
            c.tail.append(chunk);
            if (c.tail.size() > longest_pattern - 1) c.tail.erase(0, c.tail.size() - (longest_pattern - 1));
        }
        c.up.append(chunk);
        return true;
    }

    // The first rule whose pattern ends inside the new bytes (window[old..]); cut rules first.
    rule* match(std::string_view window, std::size_t old) {
        rule* swallow = nullptr;
        for (rule& r : rules) {
            const std::size_t from = old + 1 > r.pattern.size() ? old + 1 - r.pattern.size() : 0;
            if (window.find(r.pattern, from) == std::string_view::npos) continue;
            if (!r.swallow) return &r;
            if (swallow == nullptr) swallow = &r;
        }
        return swallow;
    }

    bool read_server(connection& c) {
        std::array<char, read_chunk> buffer;
        std::size_t room = buffer.size();
        if (!c.swallowing) {
            room = std::min(room, buffer_cap - std::min(buffer_cap, c.down.size()));
            // Never take more than the budget from the kernel: the rest must not reach the client.
            if (c.budget) room = std::min(room, *c.budget);
        }
        if (room == 0) return true;
        const ssize_t n = ::recv(c.server.get(), buffer.data(), room, MSG_DONTWAIT);
        if (n < 0) {
            if (would_block(errno)) return true;
            close_pair(c, cut_mode::rst);
            return false;
        }
        if (n == 0) {
            c.server_eof = true;
            // A swallowing connection whose server hung up has had its answer too.
            if (c.swallowing) c.reply_seen = true;
            return true;
        }
        if (c.swallowing) {
            // Only bytes read once the matching request was fully written can be its reply;
            // earlier ones (e.g. asynchronous notices) are dropped but do not end the wait.
            if (c.up.empty()) c.reply_seen = true;
            return true;
        }
        c.down.append(buffer.data(), static_cast<std::size_t>(n));
        if (c.budget) *c.budget -= static_cast<std::size_t>(n);
        return true;
    }

    // Writes what the socket takes now; false on a broken socket.
    static bool write_all(unique_fd& fd, std::string& pending, std::size_t& counter) {
        while (!pending.empty()) {
            const ssize_t n = ::send(fd.get(), pending.data(), pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0) return would_block(errno);
            pending.erase(0, static_cast<std::size_t>(n));
            counter += static_cast<std::size_t>(n);
        }
        return true;
    }
};

fault_proxy::fault_proxy(std::string_view upstream_host, std::uint16_t upstream_port, fault_proxy_options options)
    : engine_(std::make_unique<engine>()) {
    // This workplace forbids traffic to any other address; no name is resolved either, so a
    // test cannot reach elsewhere through /etc/hosts.
    in_addr address{};
    const std::string host(upstream_host);
    if (::inet_pton(AF_INET, host.c_str(), &address) != 1 || address.s_addr != htonl(INADDR_LOOPBACK))
        throw std::invalid_argument("fault_proxy: the upstream must be 127.0.0.1 (loopback only), not \"" + host + "\"");
    if (upstream_port == 0) throw std::invalid_argument("fault_proxy: upstream port 0");
    if (options.max_connections == 0) throw std::invalid_argument("fault_proxy: max_connections must be at least 1");

    engine& e = *engine_;
    e.options = options;
    e.upstream_port = upstream_port;
    e.wake.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!e.wake.valid()) throw_errno("fault_proxy: eventfd");
    e.listener = bound_socket(0);
    sockaddr_in bound{};
    socklen_t length = sizeof bound;
    if (::getsockname(e.listener.get(), reinterpret_cast<sockaddr*>(&bound), &length) != 0)
        throw_errno("fault_proxy: getsockname");
    e.port = ntohs(bound.sin_port);
    // Only possible when nothing listens upstream: every connection would dial the proxy itself.
    if (e.port == upstream_port) throw std::invalid_argument("fault_proxy: the upstream port is the proxy's own");
    if (::listen(e.listener.get(), SOMAXCONN) != 0) throw_errno("fault_proxy: listen");
    e.thread = std::thread([&e] { e.run(); });
}

fault_proxy::~fault_proxy() {
    {
        std::lock_guard lock(engine_->mutex);
        engine_->stopping = true;
    }
    engine_->signal_wake();
    engine_->thread.join();
}

std::uint16_t fault_proxy::port() const noexcept { return engine_->port; }
std::uint16_t fault_proxy::upstream_port() const noexcept { return engine_->upstream_port; }

void fault_proxy::pass() {
    refuse(false);
    std::unique_lock lock(engine_->mutex);
    engine_->stalled = false;
    engine_->rst_accept = false;
    engine_->truncate.reset();
    for (auto& c : engine_->connections)
        if (!c->draining) c->budget.reset();
    engine_->rules.clear();
    engine_->apply(lock);
}

void fault_proxy::cut_all(cut_mode how) {
    std::unique_lock lock(engine_->mutex);
    for (auto& c : engine_->connections) c->cut = how;
    engine_->apply(lock);
}

void fault_proxy::truncate_after(std::size_t bytes, cut_mode how) {
    std::unique_lock lock(engine_->mutex);
    engine_->truncate = std::pair(bytes, how);
    for (auto& c : engine_->connections) {
        if (c->draining) continue;
        c->budget = bytes;
        c->budget_how = how;
    }
    engine_->apply(lock);
}

void fault_proxy::stall(bool on) {
    std::unique_lock lock(engine_->mutex);
    engine_->stalled = on;
    engine_->apply(lock);
}

void fault_proxy::refuse(bool on) {
    engine& e = *engine_;
    std::unique_lock lock(e.mutex);
    if (on == e.refusing && e.listener.valid()) return;
    if (on) {
        // Once the loop acknowledges, its poll set no longer holds the listener, so this thread
        // may replace the socket (closing a socket another thread polls would keep it alive).
        e.refusing = true;
        e.apply(lock);
        e.listener.reset();  // ends listening; clients in the backlog are reset
        e.listener = bound_socket(e.port);
        return;
    }
    if (!e.listener.valid()) e.listener = bound_socket(e.port);  // an earlier rebind failed
    if (::listen(e.listener.get(), SOMAXCONN) != 0) throw_errno("fault_proxy: listen again");
    e.refusing = false;
    e.apply(lock);
}

void fault_proxy::rst_on_accept(bool on) {
    std::unique_lock lock(engine_->mutex);
    engine_->rst_accept = on;
    engine_->apply(lock);
}

void fault_proxy::swallow_reply_after(std::string_view pattern, cut_mode how, std::size_t times) {
    engine_->add_rule(pattern, true, how, times);
}

void fault_proxy::cut_before_forwarding(std::string_view pattern, cut_mode how, std::size_t times) {
    engine_->add_rule(pattern, false, how, times);
}

void fault_proxy::clear_patterns() {
    std::unique_lock lock(engine_->mutex);
    engine_->rules.clear();
    engine_->apply(lock);
}

std::size_t fault_proxy::accepted() const {
    std::lock_guard lock(engine_->mutex);
    return engine_->accepted;
}

std::size_t fault_proxy::active() const {
    std::lock_guard lock(engine_->mutex);
    return engine_->connections.size();
}

std::size_t fault_proxy::bytes_up() const {
    std::lock_guard lock(engine_->mutex);
    return engine_->bytes_up;
}

std::size_t fault_proxy::bytes_down() const {
    std::lock_guard lock(engine_->mutex);
    return engine_->bytes_down;
}

std::size_t fault_proxy::triggered() const {
    std::lock_guard lock(engine_->mutex);
    return engine_->triggered;
}

bool fault_proxy::wait_for_accepted(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(engine_->mutex);
    return engine_->changed.wait_for(lock, timeout, [&] { return engine_->accepted >= n; });
}

bool fault_proxy::wait_for_active(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(engine_->mutex);
    return engine_->changed.wait_for(lock, timeout, [&] { return engine_->connections.size() == n; });
}

bool fault_proxy::wait_for_triggered(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(engine_->mutex);
    return engine_->changed.wait_for(lock, timeout, [&] { return engine_->triggered >= n; });
}

}  // namespace switchboard::testing
