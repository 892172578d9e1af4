// SPDX-License-Identifier: MIT
// The '?' to '$n' rewriter: one pass over the text, skipping what PostgreSQL's lexer (scan.l) treats as quoted.
#include "placeholder_rewriter.hpp"

#include <charconv>

namespace switchboard::postgresql {

namespace {

// scan.l: ident_start [A-Za-z\200-\377_], ident_cont [A-Za-z\200-\377_0-9\$].
constexpr bool is_ident_start(char c) noexcept {
    const auto b = static_cast<unsigned char>(c);
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_' || b >= 0x80;
}
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_ident_cont(char c) noexcept { return is_ident_start(c) || is_digit(c) || c == '$'; }

// scan.l: dolqdelim \$({dolq_start}{dolq_cont}*)?\$ with dolq_start [A-Za-z\200-\377_] and
// dolq_cont [A-Za-z\200-\377_0-9]. Returns the delimiter's length at `at`, 0 if none starts there.
std::size_t dollar_delimiter(std::string_view s, std::size_t at) noexcept {
    std::size_t i = at + 1;
    if (i < s.size() && is_ident_start(s[i])) {
        ++i;
        while (i < s.size() && (is_ident_start(s[i]) || is_digit(s[i]))) ++i;
    }
    if (i < s.size() && s[i] == '$') return i + 1 - at;
    return 0;
}

// The end (one past the closing quote) of a quoted run that starts at `open` (the quote).
// The quote doubled stands for itself; a backslash escapes the next byte when `backslash`.
std::size_t skip_quoted(std::string_view s, std::size_t open, char quote, bool backslash) noexcept {
    std::size_t i = open + 1;
    while (i < s.size()) {
        const char c = s[i];
        if (backslash && c == '\\') {
            i += 2;
        } else if (c == quote) {
            if (i + 1 < s.size() && s[i + 1] == quote) i += 2;
            else return i + 1;
        } else {
            ++i;
        }
    }
    return s.size();
}

// The end of a block comment starting at `open` ("/*"): they nest (scan.l, xc).
std::size_t skip_block_comment(std::string_view s, std::size_t open) noexcept {
    std::size_t depth = 0;
    std::size_t i = open;
    while (i + 1 < s.size()) {
        if (s[i] == '/' && s[i + 1] == '*') {
            ++depth;
            i += 2;
        } else if (s[i] == '*' && s[i + 1] == '/') {
            i += 2;
            if (--depth == 0) return i;
        } else {
            ++i;
        }
    }
    return s.size();
}

}  // namespace

rewritten_sql rewrite_placeholders(std::string_view s, bool standard_conforming_strings) {
    rewritten_sql out;
    out.text.reserve(s.size() + 16);
    std::size_t i = 0;
    // Where the identifier or keyword being read started; npos outside one. Needed because
    // the same characters mean different things inside one: date'x' is a typed literal but
    // e'x' an escape string, and a$b$ is one identifier but $b$ opens a dollar quote.
    std::size_t ident_from = std::string_view::npos;
    const auto copy_to = [&](std::size_t end) {
        out.text.append(s.data() + i, end - i);
        i = end;
        ident_from = std::string_view::npos;
    };

    while (i < s.size()) {
        const char c = s[i];
        const bool in_ident = ident_from != std::string_view::npos;
        if (c == '\'') {
            // E'...' (scan.l xestart [eE]{quote}): the E must be a token of its own.
            const bool escape = (in_ident && ident_from + 1 == i && (s[i - 1] == 'E' || s[i - 1] == 'e')) ||
                                !standard_conforming_strings;
            copy_to(skip_quoted(s, i, '\'', escape));
        } else if (c == '"') {
            copy_to(skip_quoted(s, i, '"', false));
        } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
            // scan.l: comment ("--"{non_newline}*), non_newline [^\n\r]: a CR ends it too.
            const std::size_t nl = s.find_first_of("\n\r", i);
            copy_to(nl == std::string_view::npos ? s.size() : nl);
        } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
            copy_to(skip_block_comment(s, i));
        } else if (c == '$' && !in_ident) {
            if (const std::size_t tag = dollar_delimiter(s, i); tag != 0) {
                const std::size_t close = s.find(s.substr(i, tag), i + tag);
                copy_to(close == std::string_view::npos ? s.size() : close + tag);
            } else {
                // "$1": the caller wrote a PostgreSQL parameter itself (scan.l, param).
                if (i + 1 < s.size() && is_digit(s[i + 1])) out.has_dollar_parameter = true;
                out.text += c;
                ++i;
            }
        } else if (c == '?') {
            const std::size_t n = ++out.parameter_count;
            if (!out.text.empty() && is_ident_cont(out.text.back())) out.text += ' ';
            char digits[24];
            const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
            (void)ec;  // 24 digits hold any std::size_t
            out.text += '$';
            out.text.append(digits, end);
            ++i;
            if (i < s.size() && is_ident_cont(s[i])) out.text += ' ';
            ident_from = std::string_view::npos;
        } else {
            if (in_ident) {
                if (!is_ident_cont(c)) ident_from = std::string_view::npos;
            } else if (is_ident_start(c) && (out.text.empty() || !is_ident_cont(out.text.back()))) {
                ident_from = i;  // not after digits: "1e" is a number, not an identifier
            }
            out.text += c;
            ++i;
        }
    }
    return out;
}

}  // namespace switchboard::postgresql
