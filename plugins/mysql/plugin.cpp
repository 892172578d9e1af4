// SPDX-License-Identifier: MIT
// The loadable MySQL/MariaDB module: exports the backend's descriptor under the one plugin alias.
#include <switchboard/mysql/mysql.hpp>

#include <boost/dll/alias.hpp>

BOOST_DLL_ALIAS(switchboard::mysql::descriptor, switchboard_plugin_v1)
