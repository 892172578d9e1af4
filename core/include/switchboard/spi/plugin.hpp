// SPDX-License-Identifier: MIT
// The C-layout descriptor a backend module exports, and the checks core makes before trusting it.
#pragma once

// A plugin module (switchboard-<name>.so) exports exactly one symbol, through Boost.DLL:
//
//     #include <boost/dll/alias.hpp>
//     BOOST_DLL_ALIAS(my::descriptor, switchboard_plugin_v1)
//
// where my::descriptor is a switchboard_plugin_descriptor defined in the backend library
// (so the same descriptor can be registered statically with
// plugin_registry::register_static). Core reads abi and size first, then build_tag, and only
// then touches any other field or calls any plugin code. The structure only grows at its
// end; any other change bumps SWITCHBOARD_PLUGIN_ABI.

#include <switchboard/build_config.hpp>
#include <switchboard/export.hpp>

#include <cstdint>

namespace switchboard::spi {
class backend;
}

/// Bumped whenever the descriptor or any spi/ interface changes incompatibly.
#define SWITCHBOARD_PLUGIN_ABI 2u  // 2: backend_connection::ping(), operation::ping, native_error::not_sent and in_other_result

/// The name of the exported alias.
#define SWITCHBOARD_PLUGIN_SYMBOL "switchboard_plugin_v1"

extern "C" {

struct switchboard_plugin_descriptor {
    std::uint32_t abi;        ///< SWITCHBOARD_PLUGIN_ABI the plugin was built against
    std::uint32_t size;       ///< sizeof(switchboard_plugin_descriptor) as the plugin saw it
    const char* build_tag;    ///< SWITCHBOARD_BUILD_TAG: compiler, C++ library ABI, debug/release, core major
    const char* name;         ///< backend name, e.g. "sqlite"
    const char* version;      ///< the plugin's own version, for messages
    const char* const* schemes;  ///< URL schemes it serves, NULL-terminated, e.g. {"sqlite", nullptr}
    /// Makes the backend. Called once per process (per registry), after every check passed.
    /// May throw; core reports that as errc::plugin naming the plugin. The object is owned by
    /// core and destroyed with delete through its virtual destructor.
    switchboard::spi::backend* (*create)();
};

}  // extern "C"

namespace switchboard::spi {

/// A descriptor with this build's ABI number, size and build tag filled in.
constexpr switchboard_plugin_descriptor make_descriptor(const char* name, const char* version,
                                                        const char* const* schemes,
                                                        backend* (*create)()) noexcept {
    return {SWITCHBOARD_PLUGIN_ABI, sizeof(switchboard_plugin_descriptor), SWITCHBOARD_BUILD_TAG,
            name, version, schemes, create};
}

/// The build tag core itself was compiled with.
SWITCHBOARD_API const char* core_build_tag() noexcept;

}  // namespace switchboard::spi
