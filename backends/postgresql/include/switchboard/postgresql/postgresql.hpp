// SPDX-License-Identifier: MIT
// The PostgreSQL backend's public face: its plugin descriptor, for static registration.
#pragma once

#include <switchboard/spi/plugin.hpp>

namespace switchboard::postgresql {

/// The descriptor the switchboard-postgresql.so module exports (schemes "postgresql" and
/// "postgres"). A program that links switchboard::postgresql statically registers it instead:
///     switchboard::plugin_registry::global().register_static(switchboard::postgresql::descriptor);
extern const switchboard_plugin_descriptor descriptor;

}  // namespace switchboard::postgresql
