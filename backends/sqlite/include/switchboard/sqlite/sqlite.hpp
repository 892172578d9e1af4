// SPDX-License-Identifier: MIT
// The SQLite backend's public face: its plugin descriptor, for static registration.
#pragma once

#include <switchboard/spi/plugin.hpp>

namespace switchboard {
class plugin_registry;
}

namespace switchboard::sqlite {

/// The descriptor the switchboard-sqlite.so module exports. A program that links
/// switchboard::sqlite statically registers it instead:
///     switchboard::plugin_registry::global().register_static(switchboard::sqlite::descriptor);
extern const switchboard_plugin_descriptor descriptor;

}  // namespace switchboard::sqlite
