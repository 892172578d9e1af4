// SPDX-License-Identifier: MIT
// The PostgreSQL classifier (a pure function of a native_error) and the one place libpq failures become native errors.
#pragma once

#include <switchboard/spi/backend.hpp>

#include <string>
#include <string_view>

struct pg_conn;
struct pg_result;

namespace switchboard::postgresql {

/// What a libpq failure means (reliability.md §1.1-1.2, PostgreSQL's errcodes.txt, libpq's
/// own messages). In order:
///   1. connection_bad (PQstatus was CONNECTION_BAD after the call) or no_result (the call
///      returned no PGresult at all) means the connection is gone: disconnected, or
///      commit_outcome_unknown for operation::commit (the server may have committed);
///   2. otherwise the SQLSTATE, by exact code, then by its class (first two characters);
///   3. otherwise libpq's lost-connection messages, matched anywhere in the text (they are
///      translated, so this is a fallback for the untranslated case only);
///   4. anything else is errc::other.
/// operation::connect always yields connect_failed or too_many_connections; there is no
/// SQLSTATE at connect time (libpq-exec.html: error fields live on PGresults only), so the
/// server's FATAL text is matched: "too many clients", "starting up", "shutting down", "not
/// yet accepting", "in recovery" (transient); a failed password or an unknown role or
/// database is connect_failed but not transient.
///
/// Pure: no I/O, never throws. backend::classify delegates here; the unit test calls it
/// directly.
spi::classification classify(const spi::native_error& error) noexcept;

/// The native_error of a failed libpq call on `conn`: op; connection_bad from PQstatus(conn)
/// read now; no_result when `result` is null; the SQLSTATE from the result
/// (PG_DIAG_SQLSTATE); the message (see below). Never holds the password: PQpass(conn) is
/// scrubbed from the text.
///
/// The message is the server's primary message and hint when the server reported the error
/// (the DETAIL is left out because it quotes row values, e.g. "Key (id)=(42) already
/// exists", and errors never carry bound values), and libpq's whole text otherwise.
spi::native_error native_error_of(pg_conn* conn, const pg_result* result, spi::operation op);

/// Replaces every occurrence of `secret` in `text` with "***". An empty secret changes nothing.
void scrub(std::string& text, std::string_view secret);

}  // namespace switchboard::postgresql
