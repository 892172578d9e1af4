// SPDX-License-Identifier: MIT
// The '?' to '$n' rewriter: a pure function over PostgreSQL's lexical rules for literals, identifiers and comments.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace switchboard::postgresql {

/// A statement with its '?' placeholders rewritten to PostgreSQL's $1, $2, ...
struct rewritten_sql {
    std::string text;
    std::size_t parameter_count = 0;  ///< the number of '?' rewritten, so the highest $n
    bool has_dollar_parameter = false; ///< the input itself holds a $n parameter outside quotes
};

/// Rewrites every '?' that PostgreSQL's lexer would see as an operator character into $n,
/// numbered from 1 in order of appearance, and leaves alone (following scan.l of
/// PostgreSQL 15, src/backend/parser/scan.l):
///   - string literals '...' with '' doubling, including B'', X'', N'' and U&'' forms;
///   - escape strings E'...' where a backslash escapes any character (and '' still doubles);
///     with standard_conforming_strings off, plain '...' literals take backslash escapes too;
///   - quoted identifiers "..." with "" doubling (and U&"...");
///   - line comments -- to the end of the line (a \n or a \r, scan.l non_newline);
///   - block comments /* ... */, which nest;
///   - dollar-quoted bodies $$...$$ and $tag$...$tag$, where a tag is an identifier
///     ([A-Za-z_ and bytes >= 0x80] then also digits) and a '$' that continues an identifier
///     (a$b) or is followed by a digit ($1, a parameter) starts none.
/// An unterminated literal, identifier, comment or body runs to the end of the text, as in
/// the server's lexer (which then reports the error).
///
/// Every '?' outside those is a placeholder, including the jsonb operators ?, ?| and ?&,
/// and "??" (two placeholders): write jsonb_exists(a, k), jsonb_exists_any(a, ks) and
/// jsonb_exists_all(a, ks) instead. A space is put between $n and an adjacent identifier
/// character or digit, so "a=?AND" and "?1" stay two tokens; nothing else changes.
///
/// Pure, thread-safe; allocates only the returned text.
rewritten_sql rewrite_placeholders(std::string_view sql, bool standard_conforming_strings = true);

}  // namespace switchboard::postgresql
