// SPDX-License-Identifier: MIT
// The MySQL/MariaDB classifier: a pure function of a native_error (errno, SQLSTATE, message, server, op).
#pragma once

#include <switchboard/spi/backend.hpp>

#include <string_view>

namespace switchboard::mysql {

/// What a MySQL or MariaDB error number means (reliability.md §1.3; errmsg.h and
/// mysqld_error.h of Connector/C 3.3). Numbers above ~1900 differ by server flavour, so
/// `error.server` (mysql_get_server_info) decides between MariaDB's and MySQL's meaning;
/// an empty server string counts as MariaDB. Pure: no I/O, never throws. backend::classify
/// delegates here; the unit test calls it directly.
spi::classification classify(const spi::native_error& error) noexcept;

/// Whether a client error number says the connection itself is gone: CR_SERVER_GONE_ERROR
/// 2006, CR_SERVER_LOST 2013, CR_SERVER_LOST_EXTENDED 2055, CR_ERR_NET_READ 5013,
/// CR_ERR_NET_WRITE 5014. The backend sets native_error::connection_bad from it.
bool is_lost_connection_code(long long code) noexcept;

/// Whether a mysql_get_server_info() string names a MariaDB server ("10.11.19-MariaDB",
/// also "5.5.5-10.11.19-MariaDB-log" through some proxies). Empty (not connected yet)
/// counts as MariaDB, the server this backend is built and tested against.
bool is_mariadb(std::string_view server) noexcept;

}  // namespace switchboard::mysql
