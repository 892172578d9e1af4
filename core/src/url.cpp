// SPDX-License-Identifier: MIT
// Database URLs: a hand-written parser for the path and network forms, percent-decoding, redacted printing.
#include <switchboard/error.hpp>
#include <switchboard/url.hpp>

#include <algorithm>
#include <charconv>
#include <string>

namespace switchboard {
namespace {

constexpr std::string_view library_prefix = "sb.";
constexpr std::string_view redacted = "***";

// Every error names the part that is wrong and never the text around it: a URL may carry a
// password, and a mistyped one (an unencoded '/' or '?' in the password) can make the password
// land in any other part. Only the scheme (validated first) and digits-only ports are shown.
[[noreturn]] void fail(std::string_view scheme, std::string_view what) {
    std::string m = "invalid URL";
    if (!scheme.empty()) {
        m += " (scheme '";
        m += scheme;
        m += "')";
    }
    m += ": ";
    m += what;
    throw_usage(std::move(m));
}

bool is_ascii_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }
char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decoding as in RFC 3986; '+' stays '+' (that rule belongs to HTML form encoding).
// A decoded NUL is refused: C client libraries would silently cut the string there.
std::string decode(std::string_view text, std::string_view scheme, std::string_view part) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
        const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            fail(scheme, "bad percent-escape in " + std::string(part) + " (expected '%' and two hex digits)");
        if (hi == 0 && lo == 0) fail(scheme, "percent-escape %00 (NUL) in " + std::string(part) + " is not allowed");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

// Option keys are not secret, but a key is shown only when it looks like one (a short name of
// letters, digits, '_', '-', '.'): a '?' left unencoded in the password makes the rest of the
// password the first key ("...://u:pa?ss@host/db"), and a decoded key may hold line breaks.
std::string describe_key(std::string_view key) {
    const bool name_like = key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
                               return is_ascii_alpha(c) || is_ascii_digit(c) || c == '_' || c == '-' || c == '.';
                           });
    return name_like ? "option '" + std::string(key) + "'" : std::string("an option whose key is not a plain name");
}

std::string parse_scheme(std::string_view text) {
    if (text.empty()) fail({}, "missing scheme (expected e.g. postgresql://host/db or sqlite:file.db)");
    const bool valid = is_ascii_alpha(text.front()) && std::all_of(text.begin(), text.end(), [](char c) {
                           return is_ascii_alpha(c) || is_ascii_digit(c) || c == '+' || c == '-' || c == '.';
                       });
    if (!valid) fail({}, "the scheme must start with a letter and hold only letters, digits, '+', '-' and '.'");
    std::string scheme(text);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), ascii_lower);
    return scheme;
}

std::uint16_t parse_port(std::string_view text, std::string_view scheme, std::size_t index) {
    const std::string where = "host " + std::to_string(index);
    if (text.empty()) fail(scheme, "empty port after ':' in " + where);
    if (!std::all_of(text.begin(), text.end(), is_ascii_digit))
        fail(scheme, "the port of " + where + " is not a decimal number");
    // A long run of digits is not shown: it may be a numeric password that slid into the
    // port position because the host was left out.
    if (text.size() > 5) fail(scheme, "the port of " + where + " is out of range 1..65535");
    unsigned value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    if (value < 1 || value > 65535)
        fail(scheme, "port '" + std::string(text) + "' of " + where + " is out of range 1..65535");
    return static_cast<std::uint16_t>(value);
}

// One entry of the host list: "name", "name:port", "[v6]", "[v6]:port", ":port" or "".
host_port parse_host(std::string_view entry, std::string_view scheme, std::size_t index) {
    const std::string where = "host " + std::to_string(index);
    std::string_view host = entry;
    std::optional<std::string_view> port;
    if (entry.starts_with('[')) {
        const auto close = entry.find(']');
        if (close == std::string_view::npos) fail(scheme, "unclosed '[' in " + where);
        host = entry.substr(1, close - 1);
        if (host.empty()) fail(scheme, "empty IPv6 address in brackets in " + where);
        const auto after = entry.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') fail(scheme, "unexpected text after ']' in " + where + " (expected ':port')");
            port = after.substr(1);
        }
    } else {
        const auto colon = entry.find(':');
        if (colon != std::string_view::npos) {
            host = entry.substr(0, colon);
            port = entry.substr(colon + 1);
            if (port->find(':') != std::string_view::npos)
                fail(scheme, where + " has more than one ':'; write an IPv6 address in brackets, e.g. [::1]:5432");
        }
        if (host.find_first_of("[]") != std::string_view::npos) fail(scheme, "misplaced '[' or ']' in " + where);
    }
    // Hosts are decoded too, as libpq does, so a Unix socket directory can be written %2Fvar%2Frun%2Fpostgresql.
    host_port hp;
    hp.host = decode(host, scheme, where);
    if (port) hp.port = parse_port(*port, scheme, index);
    return hp;
}

std::vector<host_port> parse_hosts(std::string_view list, std::string_view scheme) {
    std::vector<host_port> hosts;
    std::size_t index = 1;
    for (;;) {
        const auto comma = list.find(',');
        hosts.push_back(parse_host(list.substr(0, comma), scheme, index++));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return hosts;
}

void parse_query(std::string_view query, std::string_view scheme, std::vector<url::option>& driver,
                 std::vector<url::option>& library) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;  // "a=1&&b=2", a trailing '&'

        const auto eq = pair.find('=');
        std::string key = decode(pair.substr(0, eq), scheme, "an option key");
        if (key.empty()) fail(scheme, "an option has an empty key");
        std::string value;
        if (eq != std::string_view::npos) value = decode(pair.substr(eq + 1), scheme, "the value of " + describe_key(key));

        auto* target = &driver;
        std::string shown = key;  // the key as written, for messages
        if (key.starts_with(library_prefix)) {
            key.erase(0, library_prefix.size());
            if (key.empty()) fail(scheme, "an option has the empty name 'sb.'");
            target = &library;
        }
        const bool repeated = std::any_of(target->begin(), target->end(), [&](const url::option& o) {
            return o.first == key;
        });
        // Which of two values was meant is a guess; refusing is safer than picking one.
        if (repeated) fail(scheme, describe_key(shown) + " is given more than once");
        target->emplace_back(std::move(key), std::move(value));
    }
}

// RFC 3986 unreserved characters never need escaping; each part allows a few more of its own.
std::string encode(std::string_view text, std::string_view also_allowed) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const bool plain = is_ascii_alpha(c) || is_ascii_digit(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
                           also_allowed.find(c) != std::string_view::npos;
        if (plain) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0x0f];
        }
    }
    return out;
}

// Which characters stay as written in each part: those the parser never splits on there.
constexpr std::string_view user_chars = "!$&'()*+,;=";
constexpr std::string_view host_chars = "!$&'()*+;=";      // ',' separates hosts, ':' the port
constexpr std::string_view ipv6_chars = "!$&'()*+;=:";     // inside brackets ':' is the address
constexpr std::string_view path_chars = "!$&'()*+,;=:/";  // '?' starts the query; '@' see parse()
constexpr std::string_view key_chars = "!$'()*+,;:@/?";    // '&' separates pairs, '=' key and value
constexpr std::string_view value_chars = "!$'()*+,;:@/?=";

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

bool icontains(std::string_view haystack, std::string_view needle) noexcept {
    if (needle.size() > haystack.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i)
        if (iequals(haystack.substr(i, needle.size()), needle)) return true;
    return false;
}

std::optional<std::string_view> find_option(const std::vector<url::option>& options, std::string_view key) noexcept {
    const auto it = std::find_if(options.begin(), options.end(), [&](const url::option& o) { return o.first == key; });
    if (it == options.end()) return std::nullopt;
    return std::string_view(it->second);
}

void append_options(std::string& out, const std::vector<url::option>& options, std::string_view prefix,
                    char& separator) {
    for (const auto& [key, value] : options) {
        out += separator;
        separator = '&';
        out += prefix;
        out += encode(key, key_chars);
        if (url::is_secret_key(key)) {
            out += '=';
            out += redacted;
        } else if (!value.empty()) {
            out += '=';
            out += encode(value, value_chars);
        }
    }
}

}  // namespace

url url::parse(std::string_view text) {
    if (text.empty()) fail({}, "the URL is empty");
    // Checked over the whole text first, before anything is split, so no part sees them.
    if (std::any_of(text.begin(), text.end(), [](char c) {
            const auto byte = static_cast<unsigned char>(c);
            return byte < 0x20 || byte == 0x7f;
        }))
        fail({}, "contains a control character (a line break or tab?); percent-encode it or trim the text");
    if (text.find('#') != std::string_view::npos)
        fail({}, "a '#' fragment has no meaning in a database URL; write a '#' in the password or a value as %23");

    const auto colon = text.find(':');
    if (colon == std::string_view::npos) fail({}, "missing scheme (expected e.g. postgresql://host/db or sqlite:file.db)");
    url u;
    u.scheme_ = parse_scheme(text.substr(0, colon));
    const std::string_view scheme = u.scheme_;

    // The query starts at the first '?': one in the password or the path must be written %3F.
    std::string_view rest = text.substr(colon + 1);
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }

    const bool slashes = rest.starts_with("//");
    if (scheme == "sqlite" || !slashes) {
        // Path form: "scheme:path". SQLite also accepts "sqlite:///abs/path", an empty authority
        // followed by an absolute path, and keeps the path's leading '/'.
        std::string_view path = rest;
        if (slashes) {
            rest.remove_prefix(2);
            if (!rest.empty() && rest.front() != '/')
                fail(scheme, "an SQLite URL takes no host or user; write sqlite:///abs/path.db, sqlite:relative.db or "
                             "sqlite::memory:");
            path = rest;
        }
        // "mysql:user:pw@host/db" (the '//' forgotten) would otherwise keep the password in the
        // path, where to_string() and error messages show it. A real '@' in a file name is %40.
        if (path.find('@') != std::string_view::npos)
            fail(scheme, "unencoded '@' in the path; a network URL is written scheme://user@host/db, and an '@' "
                         "that belongs to the path is written %40");
        u.database_ = decode(path, scheme, "the database path");
        if (scheme == "sqlite" && u.database_.empty())
            fail(scheme, "no database file; write sqlite:///abs/path.db, sqlite:relative.db or sqlite::memory:");
    } else {
        // Network form: "scheme://[user[:password]@]hosts[/database]".
        u.network_form_ = true;
        rest.remove_prefix(2);
        const auto slash = rest.find('/');
        std::string_view authority = rest.substr(0, slash);
        // A password holding an unencoded '/' or '?' ends the authority early and leaves its
        // tail (and the real '@') in the path or query, which to_string() and messages show.
        // Without a userinfo, an '@' further on is therefore refused, and nothing is echoed.
        if (authority.find('@') == std::string_view::npos &&
            (rest.find('@') != std::string_view::npos || query.find('@') != std::string_view::npos))
            fail(scheme, "unencoded '@' after the host part; if it belongs to a password, percent-encode the "
                         "password's '/', '?', '#' and '@'; in a database name or option value write %40");
        // The last '@' ends the userinfo, so an unencoded '@' in a password still parses
        // (hosts never contain '@').
        if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
            const auto userinfo = authority.substr(0, at);
            authority.remove_prefix(at + 1);
            const auto sep = userinfo.find(':');
            std::string user = decode(userinfo.substr(0, sep), scheme, "the user name");
            if (!user.empty()) u.user_ = std::move(user);  // "//:pw@host" names no user: the driver's default
            if (sep != std::string_view::npos) u.password_ = decode(userinfo.substr(sep + 1), scheme, "the password");
        }
        u.hosts_ = parse_hosts(authority, scheme);
        if (slash != std::string_view::npos) u.database_ = decode(rest.substr(slash + 1), scheme, "the database name");
    }

    parse_query(query, scheme, u.driver_options_, u.library_options_);
    return u;
}

std::optional<std::string_view> url::driver_option(std::string_view key) const noexcept {
    return find_option(driver_options_, key);
}

std::optional<std::string_view> url::library_option(std::string_view key) const noexcept {
    return find_option(library_options_, key);
}

std::string url::to_string() const {
    std::string out = scheme_;
    out += ':';
    if (network_form_) {
        out += "//";
        if (user_) out += encode(*user_, user_chars);
        if (password_) {
            out += ':';
            out += redacted;
        }
        if (user_ || password_) out += '@';
        for (std::size_t i = 0; i < hosts_.size(); ++i) {
            if (i > 0) out += ',';
            const auto& h = hosts_[i];
            if (h.host.find(':') != std::string::npos) {
                out += '[';
                out += encode(h.host, ipv6_chars);
                out += ']';
            } else {
                out += encode(h.host, host_chars);
            }
            if (h.port) {
                out += ':';
                out += std::to_string(*h.port);
            }
        }
        if (!database_.empty()) {
            out += '/';
            out += encode(database_, path_chars);
        }
    } else if (scheme_ == "sqlite" && database_.starts_with('/')) {
        out += "//";  // sqlite:///abs/path.db: an empty host before the absolute path
        out += encode(database_, path_chars);
    } else if (database_.starts_with("//")) {
        // "scheme://..." would read back as the network form; escaping the first '/' keeps the path form.
        out += "%2F";
        out += encode(std::string_view(database_).substr(1), path_chars);
    } else {
        out += encode(database_, path_chars);
    }

    char separator = '?';
    append_options(out, driver_options_, {}, separator);
    append_options(out, library_options_, library_prefix, separator);
    return out;
}

bool url::is_secret_key(std::string_view key) noexcept {
    // "password" covers sslpassword, password1..3 (MySQL multi-factor) and the like.
    return icontains(key, "password") || icontains(key, "passwd") || iequals(key, "pwd");
}

}  // namespace switchboard
