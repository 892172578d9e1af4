// SPDX-License-Identifier: MIT
// The loadable SQLite module: exports the backend's descriptor under the one plugin alias.
#include <switchboard/sqlite/sqlite.hpp>

#include <boost/dll/alias.hpp>

BOOST_DLL_ALIAS(switchboard::sqlite::descriptor, switchboard_plugin_v1)
