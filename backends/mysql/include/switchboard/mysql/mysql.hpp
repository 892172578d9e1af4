// SPDX-License-Identifier: MIT
// The MySQL/MariaDB backend's public face: its plugin descriptor, for static registration.
#pragma once

#include <switchboard/spi/plugin.hpp>

namespace switchboard {
class plugin_registry;
}

namespace switchboard::mysql {

/// The descriptor the switchboard-mysql.so module exports (schemes "mysql" and "mariadb").
/// A program that links switchboard::mysql statically registers it instead:
///     switchboard::plugin_registry::global().register_static(switchboard::mysql::descriptor);
extern const switchboard_plugin_descriptor descriptor;

}  // namespace switchboard::mysql
