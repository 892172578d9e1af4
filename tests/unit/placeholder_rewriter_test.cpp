// SPDX-License-Identifier: MIT
// The '?' to '$n' rewriter on tricky inputs, and a seeded property test: only placeholders change, and they are counted.
#include "placeholder_rewriter.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

using switchboard::postgresql::rewrite_placeholders;

namespace {

std::string rw(std::string_view sql) { return rewrite_placeholders(sql).text; }
std::size_t count(std::string_view sql) { return rewrite_placeholders(sql).parameter_count; }

}  // namespace

TEST_CASE("placeholders become $n in order", "[postgresql][rewriter]") {
    CHECK(rw("SELECT 1") == "SELECT 1");
    CHECK(count("SELECT 1") == 0);
    CHECK(rw("SELECT ?") == "SELECT $1");
    CHECK(rw("INSERT INTO t (a, b, c) VALUES (?, ?, ?)") == "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)");
    CHECK(count("INSERT INTO t (a, b, c) VALUES (?, ?, ?)") == 3);
    CHECK(rw("SELECT ?::int, ?::text") == "SELECT $1::int, $2::text");
    CHECK(rw("WHERE a=? AND b<>?") == "WHERE a=$1 AND b<>$2");
    CHECK(rw("?") == "$1");
    CHECK(rw("") == "");
    std::string many = "SELECT ";
    for (int i = 0; i < 12; ++i) many += i ? ",?" : "?";
    CHECK(rw(many) == "SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12");
}

TEST_CASE("a placeholder next to an identifier or digit stays its own token", "[postgresql][rewriter]") {
    CHECK(rw("WHERE a=?AND b=?") == "WHERE a=$1 AND b=$2");
    CHECK(rw("SELECT ?1") == "SELECT $1 1");  // not $11
    CHECK(rw("SELECT x?") == "SELECT x $1");
    CHECK(rw("SELECT (?)") == "SELECT ($1)");
}

TEST_CASE("string literals are left alone", "[postgresql][rewriter]") {
    CHECK(rw("SELECT '?'") == "SELECT '?'");
    CHECK(count("SELECT '?'") == 0);
    CHECK(rw("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', $1");
    CHECK(rw("SELECT '', ?") == "SELECT '', $1");
    CHECK(rw("SELECT '''', ?") == "SELECT '''', $1");
    // standard_conforming_strings on: a backslash is an ordinary character in '...'.
    CHECK(rw("SELECT 'a\\', ?") == "SELECT 'a\\', $1");
    // Typed literals and the B/X/N/U& forms are plain literals.
    CHECK(rw("SELECT date'2024-01-01?', ?") == "SELECT date'2024-01-01?', $1");
    CHECK(rw("SELECT X'1f?', B'01?', N'?', U&'d\\0061t?', ?") == "SELECT X'1f?', B'01?', N'?', U&'d\\0061t?', $1");
    // Adjacent literals continue each other; each is skipped.
    CHECK(rw("SELECT 'a?'\n'b?' || ?") == "SELECT 'a?'\n'b?' || $1");
    // Unterminated: the rest is the literal (the server reports it).
    CHECK(rw("SELECT 'abc ? def") == "SELECT 'abc ? def");
    CHECK(count("SELECT 'abc ? def") == 0);
}

TEST_CASE("escape strings honour backslashes", "[postgresql][rewriter]") {
    CHECK(rw("SELECT E'\\'?', ?") == "SELECT E'\\'?', $1");
    CHECK(rw("SELECT e'\\\\', ?") == "SELECT e'\\\\', $1");
    CHECK(rw("SELECT E'a''?', ?") == "SELECT E'a''?', $1");
    CHECK(rw("SELECT E'\\n?\\t', ?") == "SELECT E'\\n?\\t', $1");
    // Not an escape string: the E ends an identifier ("name"), so the backslash is plain and
    // the literal ends at the quote after it.
    CHECK(rw("SELECT name'\\', ?") == "SELECT name'\\', $1");
    // Without standard_conforming_strings every '...' takes backslash escapes.
    CHECK(rewrite_placeholders("SELECT 'a\\'?', ?", false).text == "SELECT 'a\\'?', $1");
    CHECK(rewrite_placeholders("SELECT 'a\\'?', ?", false).parameter_count == 1);
    // With it on, the same text is 'a\' then a placeholder, then an unterminated literal.
    CHECK(rewrite_placeholders("SELECT 'a\\'?', ?", true).text == "SELECT 'a\\'$1', ?");
    CHECK(rewrite_placeholders("SELECT 'a\\', ?", true).parameter_count == 1);
    CHECK(rewrite_placeholders("SELECT 'a\\', ?", false).parameter_count == 0);
}

TEST_CASE("quoted identifiers are left alone", "[postgresql][rewriter]") {
    CHECK(rw("SELECT \"what?\" FROM t WHERE a = ?") == "SELECT \"what?\" FROM t WHERE a = $1");
    CHECK(rw("SELECT \"a\"\"?\" , ?") == "SELECT \"a\"\"?\" , $1");
    CHECK(rw("SELECT U&\"?\", ?") == "SELECT U&\"?\", $1");
    CHECK(rw("SELECT \"it's\", ?") == "SELECT \"it's\", $1");  // a quote inside an identifier opens nothing
    CHECK(rw("SELECT '\"', ?") == "SELECT '\"', $1");
}

TEST_CASE("comments are left alone", "[postgresql][rewriter]") {
    CHECK(rw("SELECT ? -- why?\n, ?") == "SELECT $1 -- why?\n, $2");
    CHECK(rw("SELECT ? -- why? 'no end") == "SELECT $1 -- why? 'no end");
    CHECK(rw("SELECT /* ? */ ?") == "SELECT /* ? */ $1");
    CHECK(rw("SELECT /* a /* nested ? */ still ? */ ?") == "SELECT /* a /* nested ? */ still ? */ $1");
    CHECK(rw("SELECT /* 'quote? */ ?") == "SELECT /* 'quote? */ $1");
    CHECK(rw("SELECT /* unterminated ?") == "SELECT /* unterminated ?");
    CHECK(rw("SELECT 1 - -?") == "SELECT 1 - -$1");
    CHECK(rw("SELECT 2--?\n") == "SELECT 2--?\n");
    CHECK(rw("SELECT '--', ?") == "SELECT '--', $1");
    CHECK(rw("SELECT '/*', ?, '*/'") == "SELECT '/*', $1, '*/'");
}

TEST_CASE("a line comment ends at a carriage return as well as a newline", "[postgresql][rewriter]") {
    // scan.l: comment ("--"{non_newline}*) with non_newline [^\n\r]. Text written on an old
    // Mac, or a CR-only line break from a generator, ends the comment there.
    CHECK(rw("SELECT 1 -- x\r + ?::int") == "SELECT 1 -- x\r + $1::int");
    CHECK(count("SELECT 1 -- x\r + ?::int") == 1);
    CHECK(rw("SELECT ? -- why?\r\n, ?") == "SELECT $1 -- why?\r\n, $2");
    CHECK(rw("SELECT ? --\r?") == "SELECT $1 --\r$2");
    CHECK(rw("SELECT ? -- a \r b ? \n c ?") == "SELECT $1 -- a \r b $2 \n c $3");
    // Only the end of the comment changes: a CR inside quotes or a block comment is plain text.
    CHECK(rw("SELECT '\r?' -- \r?") == "SELECT '\r?' -- \r$1");
    CHECK(rw("SELECT /* \r ? */ ?") == "SELECT /* \r ? */ $1");
    CHECK(count("SELECT 1 -- ? \r-- ?\n-- ?") == 0);
}

TEST_CASE("dollar-quoted bodies are left alone", "[postgresql][rewriter]") {
    CHECK(rw("SELECT $$?$$, ?") == "SELECT $$?$$, $1");
    CHECK(rw("SELECT $tag$ it's ? $$ ? $tag$, ?") == "SELECT $tag$ it's ? $$ ? $tag$, $1");
    CHECK(rw("SELECT $a$ $b$ ? $b$ ? $a$, ?") == "SELECT $a$ $b$ ? $b$ ? $a$, $1");
    CHECK(rw("SELECT $_x9$?$_x9$, ?") == "SELECT $_x9$?$_x9$, $1");
    CHECK(rw("SELECT $TAG$ ? $tag$ ? $TAG$, ?") == "SELECT $TAG$ ? $tag$ ? $TAG$, $1");  // tags are case-sensitive
    CHECK(rw("DO $body$ BEGIN RAISE NOTICE '?'; END $body$") == "DO $body$ BEGIN RAISE NOTICE '?'; END $body$");
    CHECK(rw("SELECT $$ unterminated ?") == "SELECT $$ unterminated ?");
    // Not dollar quotes: "$1" is a parameter ($ then a digit), and a $ inside an identifier.
    CHECK(rw("SELECT a$b$ FROM t WHERE c = ?") == "SELECT a$b$ FROM t WHERE c = $1");
    CHECK(rw("SELECT $9x$ ?") == "SELECT $9x$ $1");
    CHECK(rw("SELECT 'a' $ ?") == "SELECT 'a' $ $1");
}

TEST_CASE("the caller's own $n parameters are reported", "[postgresql][rewriter]") {
    CHECK(rewrite_placeholders("SELECT $1").has_dollar_parameter);
    CHECK(rewrite_placeholders("SELECT $12 + ?").has_dollar_parameter);
    CHECK_FALSE(rewrite_placeholders("SELECT '$1', $$ $1 $$, \"$1\" -- $1\n, ?").has_dollar_parameter);
    CHECK_FALSE(rewrite_placeholders("SELECT a$1 FROM t").has_dollar_parameter);  // an identifier
    CHECK_FALSE(rewrite_placeholders("SELECT ?").has_dollar_parameter);  // what the rewriter itself makes
}

TEST_CASE("jsonb question-mark operators are placeholders: use the function forms", "[postgresql][rewriter]") {
    // A documented ambiguity (README): ?, ?| and ?& are always placeholders, and so is each
    // '?' of "??". jsonb_exists / jsonb_exists_any / jsonb_exists_all do the same work.
    CHECK(rw("SELECT doc ? 'k' FROM t") == "SELECT doc $1 'k' FROM t");
    CHECK(rw("SELECT doc ?| array['a'] FROM t") == "SELECT doc $1| array['a'] FROM t");
    CHECK(rw("SELECT doc ?& ?") == "SELECT doc $1& $2");
    CHECK(rw("SELECT ??") == "SELECT $1 $2");
    CHECK(count("SELECT ??") == 2);
    CHECK(rw("SELECT jsonb_exists(doc, ?) FROM t") == "SELECT jsonb_exists(doc, $1) FROM t");
}

TEST_CASE("non-ASCII text passes through byte for byte", "[postgresql][rewriter]") {
    const std::string utf8 = "SELECT 'gr\xC3\xBC\xC3\x9F ?', \xC3\xA9t\xC3\xA9, ?";
    CHECK(rw(utf8) == "SELECT 'gr\xC3\xBC\xC3\x9F ?', \xC3\xA9t\xC3\xA9, $1");
    // A high byte is an identifier character (scan.l ident_start): "é$x$" is one identifier.
    CHECK(rw("SELECT \xC3\xA9$x$ ?") == "SELECT \xC3\xA9$x$ $1");
}

TEST_CASE("property: only placeholders change, and the count matches the $n produced", "[postgresql][rewriter]") {
    // Random statements from self-contained pieces separated by spaces, with the output the
    // rewriter must give built alongside: quoted pieces (holding every character that matters
    // inside them) and plain pieces unchanged, each bare '?' as $k, padded by one space where
    // it is glued to an identifier character or digit.
    const std::string_view quoted[] = {
        "'?'", "'it''s ?'", "E'\\'?'", "E'\\\\?'", "\"?\"", "\"a\"\"?\"", "$$ ? $$", "$q$ ' ? \" $q$",
        "/* ? /* ? */ ? */", "-- ? ' \" $$\n", "-- ? ' $$\r", "U&'?'", "X'?'", "''", "date'?'",
    };
    const std::string_view plain[] = {"SELECT", "a", "b_1", "x$y", "(", ")", ",", "=", "::int", "1", "+", "||", "<>"};
    const std::uint32_t seed = std::random_device{}();
    WARN("placeholder rewriter property seed " << seed);
    std::mt19937 rng(seed);
    for (int round = 0; round < 5000; ++round) {
        std::string sql, expected;
        std::size_t placeholders = 0;
        const int pieces = 1 + static_cast<int>(rng() % 24);
        for (int p = 0; p < pieces; ++p) {
            if (!sql.empty()) {
                sql += ' ';
                expected += ' ';
            }
            const unsigned what = rng() % 3;
            if (what == 0) {
                const std::string_view q = quoted[rng() % std::size(quoted)];
                sql += q;
                expected += q;
            } else if (what == 1) {
                const std::string_view w = plain[rng() % std::size(plain)];
                sql += w;
                expected += w;
            } else {
                const std::string n = "$" + std::to_string(++placeholders);
                switch (rng() % 4) {
                    case 0: sql += "?"; expected += n; break;
                    case 1: sql += "a?"; expected += "a " + n; break;
                    case 2: sql += "?b"; expected += n + " b"; break;
                    default: sql += "?7"; expected += n + " 7"; break;
                }
            }
        }
        INFO("input: " << sql);
        const auto out = rewrite_placeholders(sql);
        CHECK(out.text == expected);
        CHECK(out.parameter_count == placeholders);
        CHECK_FALSE(out.has_dollar_parameter);
    }
}
