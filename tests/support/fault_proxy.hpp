// SPDX-License-Identifier: MIT
// A loopback TCP proxy that injects network faults between a test's client and a server (reliability.md §4, harness P).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>

namespace switchboard::testing {

/// How the proxy ends a connection it cuts.
enum class cut_mode {
    rst,  ///< SO_LINGER {1, 0} then close: the peer reads what already reached it, then ECONNRESET
    fin,  ///< shutdown then close: the peer reads what was sent, then end of stream
};

/// Bounds of a fault_proxy. Every one keeps a broken test from hanging or growing without limit.
struct fault_proxy_options {
    /// Live proxied connections at most; further clients wait in the listen backlog.
    std::size_t max_connections = 256;
    /// Connecting to the upstream server; a client whose upstream connect fails or times out is reset.
    std::chrono::milliseconds connect_timeout{2000};
    /// A connection swallowing a reply is cut when the server's reply arrives, or after this.
    std::chrono::milliseconds swallow_timeout{2000};
    /// An RST that follows delivered bytes (truncate_after) waits at most this for the client's
    /// kernel to acknowledge them: an RST discards whatever is still unacknowledged.
    std::chrono::milliseconds drain_timeout{1000};
};

/// A TCP proxy on 127.0.0.1 that forwards every accepted connection to an upstream server on
/// 127.0.0.1 and lets a test break those connections on purpose: the Storm proxy and the
/// Toxiproxy toxics (reliability.md §2), in-process.
///
/// One background thread owns every socket and multiplexes them with poll(); it wakes on an
/// eventfd when a setting changes, so every control below takes effect before the proxy forwards
/// another byte, and returns once the proxy has applied it (cut_all() returns with the sockets
/// closed). Nothing waits without a timeout, and the destructor stops the thread promptly.
///
/// Thread safety: every member function may be called from any thread, at any time, except
/// during destruction. The upstream is 127.0.0.1 only: the constructor refuses any other address.
///
/// Pattern faults see the bytes on the wire, so they need plaintext: use sslmode=disable
/// (PostgreSQL) and no ssl_mode (MySQL) on URLs that go through the proxy.
class fault_proxy {
public:
    /// A pattern rule with this count fires on every match until pass() or clear_patterns().
    static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

    /// Listens on 127.0.0.1 on an ephemeral port and starts forwarding to
    /// 127.0.0.1:upstream_port. Throws std::invalid_argument for any other host (no name
    /// resolution: "localhost" is refused too), port 0 or max_connections 0, and
    /// std::system_error when a socket cannot be set up.
    fault_proxy(std::string_view upstream_host, std::uint16_t upstream_port, fault_proxy_options options = {});

    /// Stops the thread and resets (RST) every live connection; bounded by one poll wake-up.
    ~fault_proxy();

    fault_proxy(const fault_proxy&) = delete;
    fault_proxy& operator=(const fault_proxy&) = delete;

    /// The port clients connect to; it stays the same across refuse(true) / refuse(false).
    std::uint16_t port() const noexcept;
    std::uint16_t upstream_port() const noexcept;

    /// Back to plain forwarding: no stall, no refusal, no RST on accept, no truncation (live
    /// connections included), no pattern rules. Connections already cut stay cut.
    void pass();

    /// Closes every live proxied connection on both sides. rst: the client's next read fails with
    /// ECONNRESET; fin: it reads end of stream. Bytes the proxy holds are dropped. New
    /// connections are still accepted.
    void cut_all(cut_mode how);

    /// From now on, every connection (those live now and those accepted later) forwards at most
    /// `bytes` more bytes from the server to the client, counted from this call (live) or from
    /// accept (new), then is cut with `how`. The client receives exactly those bytes first.
    /// Counted from accept, the budget includes the server's side of the handshake (a few
    /// hundred bytes for PostgreSQL's authentication and parameter reports).
    void truncate_after(std::size_t bytes, cut_mode how);

    /// true: stop forwarding in both directions, keeping every socket open (the kernels still
    /// acknowledge, so this tests read deadlines, not a network black hole); new connections are
    /// accepted and dialled upstream but forward nothing. false: resume.
    void stall(bool on);

    /// true: stop listening (new connects fail with ECONNREFUSED; clients waiting in the backlog
    /// are reset); live connections are untouched. The port stays bound, so no other program can
    /// take it. false: listen again on the same port. Throws std::system_error if that fails.
    void refuse(bool on);

    /// true: accept every new connection and reset it at once (it counts in accepted(); the
    /// upstream is never dialled).
    void rst_on_accept(bool on);

    /// When the client→server bytes of a connection contain `pattern`, they are forwarded, but
    /// from then on everything the server sends on that connection is dropped, and the
    /// connection is cut with `how` as soon as the server's first reply bytes arrive (or after
    /// swallow_timeout): the statement runs on the server, the client never learns the outcome.
    /// Fires at most `times` times over all connections. Match across read boundaries is handled.
    void swallow_reply_after(std::string_view pattern, cut_mode how = cut_mode::rst, std::size_t times = unlimited);

    /// When the client→server bytes of a connection contain `pattern`, the connection is cut with
    /// `how` and the bytes of the read that completed the match (and all later ones) never reach
    /// the server. Bytes of earlier reads (e.g. the first half of a split pattern) were forwarded.
    /// A cut rule wins over a swallow rule matching the same bytes.
    void cut_before_forwarding(std::string_view pattern, cut_mode how = cut_mode::rst,
                               std::size_t times = unlimited);

    /// Drops every pattern rule.
    void clear_patterns();

    /// Connections accepted so far, including those reset by rst_on_accept.
    std::size_t accepted() const;
    /// Live proxied connections.
    std::size_t active() const;
    /// Bytes written to the server / to the client (swallowed bytes are not counted).
    std::size_t bytes_up() const;
    std::size_t bytes_down() const;
    /// Pattern rules fired so far.
    std::size_t triggered() const;

    /// Wait, on a condition variable, until accepted() >= n / active() == n / triggered() >= n;
    /// false on timeout.
    bool wait_for_accepted(std::size_t n, std::chrono::milliseconds timeout) const;
    bool wait_for_active(std::size_t n, std::chrono::milliseconds timeout) const;
    bool wait_for_triggered(std::size_t n, std::chrono::milliseconds timeout) const;

private:
    struct engine;
    std::unique_ptr<engine> engine_;
};

}  // namespace switchboard::testing
