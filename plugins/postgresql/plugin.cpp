// SPDX-License-Identifier: MIT
// The loadable PostgreSQL module: exports the backend's descriptor under the one plugin alias.
#include <switchboard/postgresql/postgresql.hpp>

#include <boost/dll/alias.hpp>

BOOST_DLL_ALIAS(switchboard::postgresql::descriptor, switchboard_plugin_v1)
