// SPDX-License-Identifier: MIT
// The SQLite classifier (a pure function of a native_error) and the one place native errors are raised.
#pragma once

#include <switchboard/spi/backend.hpp>

struct sqlite3;

namespace switchboard::sqlite {

/// What an SQLite extended result code means (SQLite docs, rescode.html). Pure: no I/O,
/// never throws. backend::classify delegates here; the unit test calls it directly.
spi::classification classify(const spi::native_error& error) noexcept;

/// The native_error of a failed call on db: the handle's extended code and message
/// (sqlite3_extended_errcode, sqlite3_errmsg), or `rc` alone if db is null. Read it before
/// the next call on db, which overwrites both.
spi::native_error native_error_of(sqlite3* db, spi::operation op, int rc);

/// throw spi::native_failure(native_error_of(db, op, rc)).
[[noreturn]] void throw_native(sqlite3* db, spi::operation op, int rc);

}  // namespace switchboard::sqlite
