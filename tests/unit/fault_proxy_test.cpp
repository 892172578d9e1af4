// SPDX-License-Identifier: MIT
// The TCP fault proxy against an in-test echo server: forwarding, cuts, truncation, stall, refusal, pattern faults, stop.
#include "support/fault_proxy.hpp"
#include "support/socket_fd.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using switchboard::testing::cut_mode;
using switchboard::testing::fault_proxy;
using switchboard::testing::fault_proxy_options;
using switchboard::testing::loopback;
using switchboard::testing::unique_fd;
using clock_type = std::chrono::steady_clock;

namespace {

// A bound for what should happen at once: only a bug waits this long.
constexpr auto patience = 5s;


std::uint16_t local_port(int fd) {
    sockaddr_in a{};
    socklen_t length = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) != 0)
        throw std::system_error(errno, std::generic_category(), "getsockname");
    return ntohs(a.sin_port);
}

// An echo server on 127.0.0.1 standing in for the database: one thread multiplexing with poll()
// (woken by an eventfd to stop), at most 64 connections. It records every byte it receives,
// before echoing it, and how each connection ended, so a test can tell what reached "the server".
class echo_server {
public:
    enum class ending { open, eof, reset };

    echo_server() {
        listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        const sockaddr_in a = loopback(0);
        if (!listener_.valid() || ::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(listener_.get(), 64) != 0)
            throw std::system_error(errno, std::generic_category(), "echo server listen");
        port_ = local_port(listener_.get());
        stop_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (!stop_.valid()) throw std::system_error(errno, std::generic_category(), "eventfd");
        thread_ = std::thread([this] { run(); });
    }

    ~echo_server() {
        const std::uint64_t one = 1;
        (void)!::write(stop_.get(), &one, sizeof one);
        thread_.join();
    }

    echo_server(const echo_server&) = delete;
    echo_server& operator=(const echo_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }

    std::size_t connections() const {
        std::lock_guard lock(mutex_);
        return peers_.size();
    }

    std::string received(std::size_t i) const {
        std::lock_guard lock(mutex_);
        return i < peers_.size() ? peers_[i]->received : std::string();
    }

    // Waits until the i-th connection has received at least `bytes` bytes.
    bool wait_for_received(std::size_t i, std::size_t bytes) const {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, patience, [&] { return i < peers_.size() && peers_[i]->received.size() >= bytes; });
    }

    // How the i-th connection ended, waiting for it to end; ending::open on timeout.
    ending wait_for_end(std::size_t i) const {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, patience, [&] { return i < peers_.size() && peers_[i]->end != ending::open; });
        return i < peers_.size() ? peers_[i]->end : ending::open;
    }

private:
    struct peer {
        unique_fd fd;
        std::string pending;   // received, not yet echoed
        std::string received;  // everything received
        ending end = ending::open;
    };

    void finish(peer& p, ending how) {
        p.end = how;
        p.fd.reset();
        p.pending.clear();
    }

    void run() {
        std::vector<pollfd> fds;
        std::vector<peer*> polled;
        for (;;) {
            fds.clear();
            polled.clear();
            {
                std::lock_guard lock(mutex_);
                fds.push_back({stop_.get(), POLLIN, 0});
                fds.push_back({peers_.size() < 64 ? listener_.get() : -1, POLLIN, 0});
                for (auto& p : peers_) {
                    if (p->end != ending::open) continue;
                    short events = p->pending.size() < 1024 * 1024 ? POLLIN : 0;
                    if (!p->pending.empty()) events |= POLLOUT;
                    fds.push_back({p->fd.get(), events, 0});
                    polled.push_back(p.get());
                }
            }
            if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
            if (fds[0].revents != 0) return;
            std::lock_guard lock(mutex_);
            if ((fds[1].revents & POLLIN) != 0) {
                unique_fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
                if (fd.valid()) {
                    auto p = std::make_unique<peer>();
                    p->fd = std::move(fd);
                    peers_.push_back(std::move(p));
                }
            }
            for (std::size_t i = 0; i < polled.size(); ++i) serve(*polled[i], fds[2 + i].revents);
            changed_.notify_all();
        }
    }

    void serve(peer& p, short revents) {
        if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            char buffer[16 * 1024];
            const ssize_t n = ::recv(p.fd.get(), buffer, sizeof buffer, MSG_DONTWAIT);
            if (n == 0) return finish(p, ending::eof);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return finish(p, errno == ECONNRESET ? ending::reset : ending::eof);
            if (n > 0) {
                p.received.append(buffer, static_cast<std::size_t>(n));
                p.pending.append(buffer, static_cast<std::size_t>(n));
            }
        }
        if (!p.pending.empty()) {
            const ssize_t n = ::send(p.fd.get(), p.pending.data(), p.pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) p.pending.erase(0, static_cast<std::size_t>(n));
            else if (n < 0 && errno != EAGAIN && errno != EINTR) finish(p, ending::reset);
        }
    }

    unique_fd listener_, stop_;
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<std::unique_ptr<peer>> peers_;  // in accept order; ended ones stay, for their record
    std::thread thread_;
};

// A blocking client socket connected to 127.0.0.1:port, or an invalid one with *error set.
unique_fd dial(std::uint16_t port, int* error = nullptr) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    const sockaddr_in a = loopback(port);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
        if (error != nullptr) *error = errno;
        fd.reset();
    } else if (error != nullptr) {
        *error = 0;
    }
    return fd;
}

void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        REQUIRE(n > 0);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

struct reading {
    std::string data;
    bool eof = false;
    int error = 0;  // errno of the read that failed
    bool timed_out = false;
};

// Reads until `want` bytes, end of stream, an error, or the time limit.
reading read_for(int fd, std::size_t want = std::string::npos, std::chrono::milliseconds limit = patience) {
    reading r;
    const auto deadline = clock_type::now() + limit;
    while (r.data.size() < want) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock_type::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
            r.timed_out = true;
            break;
        }
        char buffer[16 * 1024];
        const ssize_t n = ::recv(fd, buffer, std::min(sizeof buffer, want - r.data.size()), 0);
        if (n == 0) {
            r.eof = true;
            break;
        }
        if (n < 0) {
            r.error = errno;
            break;
        }
        r.data.append(buffer, static_cast<std::size_t>(n));
    }
    return r;
}

// True when nothing becomes readable on fd within `quiet`.
bool silent_for(int fd, std::chrono::milliseconds quiet) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(quiet.count())) == 0;
}

std::string echo(int fd, std::string_view message) {
    send_all(fd, message);
    return read_for(fd, message.size()).data;
}

std::string payload(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    return s;
}

}  // namespace

TEST_CASE("the proxy forwards both ways, counts, and passes on a half close", "[fault_proxy]") {
    echo_server server;
    fault_proxy proxy("127.0.0.1", server.port());
    CHECK(proxy.upstream_port() == server.port());
    CHECK(proxy.port() != server.port());

    unique_fd client = dial(proxy.port());
    REQUIRE(client.valid());
    CHECK(echo(client.get(), "hello") == "hello");
    CHECK(proxy.wait_for_accepted(1, patience));
    CHECK(proxy.active() == 1);
    CHECK(proxy.bytes_up() == 5);
    CHECK(proxy.bytes_down() == 5);

    // 4 MiB each way: more than every buffer on the path, so backpressure must work.
    const std::string big = payload(4 * 1024 * 1024);
    std::thread writer([&] { send_all(client.get(), big); });
    const reading back = read_for(client.get(), big.size());
    writer.join();
    CHECK(back.data.size() == big.size());
    CHECK(back.data == big);

    // The client's FIN reaches the server, whose FIN comes back; then the proxy lets go.
    REQUIRE(::shutdown(client.get(), SHUT_WR) == 0);
    const reading rest = read_for(client.get());
    CHECK(rest.eof);
    CHECK(rest.data.empty());
    CHECK(server.wait_for_end(0) == echo_server::ending::eof);
    CHECK(proxy.wait_for_active(0, patience));
    CHECK(proxy.bytes_up() == 5 + big.size());
}

TEST_CASE("several connections are proxied independently", "[fault_proxy]") {
    echo_server server;
    fault_proxy proxy("127.0.0.1", server.port());
    std::vector<unique_fd> clients;
    for (std::size_t i = 0; i < 8; ++i) clients.push_back(dial(proxy.port()));
    for (std::size_t i = 0; i < 8; ++i) send_all(clients[i].get(), "client " + std::to_string(i));
    for (std::size_t i = 0; i < 8; ++i) CHECK(read_for(clients[i].get(), 8).data == "client " + std::to_string(i));
    CHECK(proxy.active() == 8);
    clients.clear();
    CHECK(proxy.wait_for_active(0, patience));
    CHECK(proxy.accepted() == 8);
}

TEST_CASE("cut_all closes every live connection on both sides; new ones still work", "[fault_proxy]") {
    echo_server server;
    fault_proxy proxy("127.0.0.1", server.port());
    unique_fd client = dial(proxy.port());
    REQUIRE(echo(client.get(), "ping") == "ping");

    SECTION("rst: the client's read fails with ECONNRESET, the server sees a reset") {
        proxy.cut_all(cut_mode::rst);
        CHECK(proxy.active() == 0);  // cut_all returns with the sockets closed
        const reading r = read_for(client.get());
        CHECK(r.data.empty());
        CHECK(r.error == ECONNRESET);
        CHECK(server.wait_for_end(0) == echo_server::ending::reset);
    }
    SECTION("fin: the client reads end of stream, the server too") {
        proxy.cut_all(cut_mode::fin);
        CHECK(proxy.active() == 0);
        const reading r = read_for(client.get());
        CHECK(r.data.empty());
        CHECK(r.eof);
        CHECK(r.error == 0);
        CHECK(server.wait_for_end(0) == echo_server::ending::eof);
    }

    unique_fd again = dial(proxy.port());
    REQUIRE(again.valid());
    CHECK(echo(again.get(), "again") == "again");
    CHECK(proxy.accepted() == 2);
}

TEST_CASE("truncate_after delivers exactly N bytes, then end of stream or a reset", "[fault_proxy]") {
    echo_server server;
    fault_proxy proxy("127.0.0.1", server.port());
    const std::string data = payload(50000);

    SECTION("new connections, fin") {
        proxy.truncate_after(20000, cut_mode::fin);
        unique_fd client = dial(proxy.port());
        send_all(client.get(), data);
        const reading r = read_for(client.get());
        CHECK(r.data == data.substr(0, 20000));
        CHECK(r.eof);
    }
    SECTION("new connections, rst") {
        proxy.truncate_after(20000, cut_mode::rst);
        unique_fd client = dial(proxy.port());
        send_all(client.get(), data);
        const reading r = read_for(client.get());
        CHECK(r.data == data.substr(0, 20000));  // the RST does not overtake the bytes owed
        CHECK(r.error == ECONNRESET);
    }
    SECTION("a live connection counts from the call") {
        unique_fd client = dial(proxy.port());
        REQUIRE(echo(client.get(), "before") == "before");
        proxy.truncate_after(3, cut_mode::fin);
        send_all(client.get(), "abcdef");
        const reading r = read_for(client.get());
        CHECK(r.data == "abc");
        CHECK(r.eof);
    }
    SECTION("zero bytes cuts a live connection at once") {
        unique_fd client = dial(proxy.port());
        REQUIRE(echo(client.get(), "x") == "x");
        proxy.truncate_after(0, cut_mode::rst);
        const reading r = read_for(client.get());
        CHECK(r.data.empty());
        CHECK(r.error == ECONNRESET);
    }
    CHECK(proxy.wait_for_active(0, patience));
}

TEST_CASE("stall holds every byte in both directions until resumed, sockets open", "[fault_proxy]") {
    echo_server server;
    fault_proxy proxy("127.0.0.1", server.port());
    unique_fd client = dial(proxy.port());
    REQUIRE(echo(client.get(), "a") == "a");

    proxy.stall(true);
    send_all(client.get(), "stalled");  // the kernel takes it: the connection looks alive
    CHECK(silent_for(client.get(), 200ms));
    CHECK(server.received(0) == "a");  // not forwarded upstream either
    // A connection made during the stall is accepted but forwards nothing.
    unique_fd late = dial(proxy.port());
    REQUIRE(late.valid());
    CHECK(proxy.wait_for_accepted(2, patience));
    send_all(late.get(), "late");
    CHECK(silent_for(late.get(), 100ms));
    CHECK(proxy.active() == 2);

    proxy.stall(false);
    CHECK(read_for(client.get(), 7).data == "stalled");
    CHECK(read_for(late.get(), 4).data == "late");
}

TEST_CASE("refuse makes connects fail with ECONNREFUSED, then listens again on the same port", "[fault_proxy]") {
    echo_server server;
    fault_proxy proxy("127.0.0.1", server.port());
    const std::uint16_t port = proxy.port();
    unique_fd live = dial(port);
    REQUIRE(echo(live.get(), "live") == "live");

    proxy.refuse(true);
    proxy.refuse(true);  // idempotent
    int error = 0;
    CHECK_FALSE(dial(port, &error).valid());
    CHECK(error == ECONNREFUSED);
    CHECK(echo(live.get(), "still") == "still");  // live connections are untouched

    proxy.refuse(false);
    CHECK(proxy.port() == port);
    unique_fd fresh = dial(port, &error);
    REQUIRE(fresh.valid());
    CHECK(echo(fresh.get(), "back") == "back");
    CHECK(proxy.accepted() == 2);
}

TEST_CASE("rst_on_accept resets each new connection and never dials the server", "[fault_proxy]") {
    echo_server server;
    fault_proxy proxy("127.0.0.1", server.port());
    proxy.rst_on_accept(true);
    unique_fd client = dial(proxy.port());
    REQUIRE(client.valid());  // the kernel completed the handshake
    const reading r = read_for(client.get());
    CHECK(r.data.empty());
    CHECK(r.error == ECONNRESET);
    CHECK(proxy.accepted() == 1);
    CHECK(proxy.active() == 0);
    CHECK(server.connections() == 0);

    proxy.rst_on_accept(false);
    unique_fd next = dial(proxy.port());
    CHECK(echo(next.get(), "ok") == "ok");
}

TEST_CASE("swallow_reply_after: the server gets the statement, the client no reply and a reset", "[fault_proxy]") {
    echo_server server;
    fault_proxy proxy("127.0.0.1", server.port());
    proxy.swallow_reply_after("COMMIT");
    unique_fd client = dial(proxy.port());
    REQUIRE(echo(client.get(), "BEGIN;") == "BEGIN;");
    std::size_t echoed = 6;

    SECTION("the pattern in one read") {
        send_all(client.get(), "COMMIT;");
    }
    SECTION("the pattern split across two reads") {
        // The echo of "CO" proves the proxy read and forwarded it before "MMIT" exists.
        REQUIRE(echo(client.get(), "CO") == "CO");
        echoed += 2;
        send_all(client.get(), "MMIT;");
    }
    const reading r = read_for(client.get());
    CHECK(r.data.empty());
    CHECK(r.error == ECONNRESET);
    CHECK(server.wait_for_end(0) == echo_server::ending::reset);
    CHECK(server.received(0) == "BEGIN;COMMIT;");  // it did execute
    CHECK(proxy.triggered() == 1);
    CHECK(proxy.bytes_down() == echoed);  // the echo of the statement was swallowed
}

TEST_CASE("cut_before_forwarding: the statement never reaches the server", "[fault_proxy]") {
    echo_server server;
    fault_proxy proxy("127.0.0.1", server.port());
    proxy.cut_before_forwarding("COMMIT", cut_mode::rst, 1);
    unique_fd client = dial(proxy.port());
    REQUIRE(echo(client.get(), "BEGIN;") == "BEGIN;");
    REQUIRE(echo(client.get(), "CO") == "CO");
    send_all(client.get(), "MMIT;");
    const reading r = read_for(client.get());
    CHECK(r.data.empty());
    CHECK(r.error == ECONNRESET);
    CHECK(server.wait_for_end(0) == echo_server::ending::reset);
    CHECK(server.received(0) == "BEGIN;CO");  // the read that completed the pattern was dropped
    CHECK(proxy.wait_for_triggered(1, patience));

    // The rule was for one time only: the next COMMIT goes through.
    unique_fd next = dial(proxy.port());
    CHECK(echo(next.get(), "COMMIT;") == "COMMIT;");
    CHECK(proxy.triggered() == 1);
}

TEST_CASE("pass() clears every fault", "[fault_proxy]") {
    echo_server server;
    fault_proxy proxy("127.0.0.1", server.port());
    unique_fd live = dial(proxy.port());
    REQUIRE(echo(live.get(), "a") == "a");
    proxy.truncate_after(0, cut_mode::fin);  // cuts `live`
    CHECK(read_for(live.get()).eof);
    proxy.stall(true);
    proxy.refuse(true);
    proxy.rst_on_accept(true);
    proxy.swallow_reply_after("X");
    proxy.cut_before_forwarding("Y");

    proxy.pass();
    unique_fd client = dial(proxy.port());
    REQUIRE(client.valid());
    CHECK(echo(client.get(), "XY and more") == "XY and more");
    CHECK(proxy.triggered() == 0);
}

TEST_CASE("at most max_connections are proxied at once; the rest wait in the backlog", "[fault_proxy]") {
    echo_server server;
    fault_proxy_options options;
    options.max_connections = 2;
    fault_proxy proxy("127.0.0.1", server.port(), options);
    unique_fd first = dial(proxy.port()), second = dial(proxy.port()), third = dial(proxy.port());
    REQUIRE(third.valid());  // the kernel's backlog took it
    CHECK(proxy.wait_for_accepted(2, patience));
    send_all(third.get(), "waiting");
    CHECK_FALSE(proxy.wait_for_accepted(3, 200ms));
    CHECK(proxy.active() == 2);

    first.reset();
    CHECK(proxy.wait_for_accepted(3, patience));
    CHECK(read_for(third.get(), 7).data == "waiting");
}

TEST_CASE("a client is reset when the server is down", "[fault_proxy]") {
    // A bound socket that does not listen: its port is ours, and connecting to it is refused.
    unique_fd reserved(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sockaddr_in a = loopback(0);
    REQUIRE(::bind(reserved.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    fault_proxy proxy("127.0.0.1", local_port(reserved.get()));
    unique_fd client = dial(proxy.port());
    REQUIRE(client.valid());
    const reading r = read_for(client.get());
    CHECK(r.error == ECONNRESET);
    CHECK(proxy.accepted() == 1);
    CHECK(proxy.wait_for_active(0, patience));
}

TEST_CASE("the upstream must be 127.0.0.1", "[fault_proxy]") {
    for (const char* host : {"10.0.0.1", "0.0.0.0", "127.0.0.2", "127.1", "localhost", "::1", "", " 127.0.0.1"})
        CHECK_THROWS_AS(fault_proxy(host, 5432), std::invalid_argument);
    CHECK_THROWS_AS(fault_proxy("127.0.0.1", 0), std::invalid_argument);
    fault_proxy_options none;
    none.max_connections = 0;
    CHECK_THROWS_AS(fault_proxy("127.0.0.1", 5432, none), std::invalid_argument);
    fault_proxy ok("127.0.0.1", 5432);
    CHECK_THROWS_AS(ok.swallow_reply_after(""), std::invalid_argument);
    CHECK_THROWS_AS(ok.cut_before_forwarding("x", cut_mode::rst, 0), std::invalid_argument);
}

TEST_CASE("the destructor stops promptly with live and stalled connections", "[fault_proxy]") {
    echo_server server;
    auto proxy = std::make_unique<fault_proxy>("127.0.0.1", server.port());
    std::vector<unique_fd> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(dial(proxy->port()));
        REQUIRE(echo(clients.back().get(), "hi") == "hi");
    }
    proxy->stall(true);
    send_all(clients[0].get(), "held");

    const auto started = clock_type::now();
    proxy.reset();
    // Well under every internal timeout (idle wake-up 500 ms, connect and swallow 2 s).
    CHECK(clock_type::now() - started < 400ms);
    for (auto& c : clients) CHECK(read_for(c.get()).error == ECONNRESET);
}
