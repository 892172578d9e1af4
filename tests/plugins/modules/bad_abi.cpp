// SPDX-License-Identifier: MIT
// switchboard-badabi.so: a descriptor claiming plugin ABI 999; the loader must refuse it before any call.
#include <switchboard/spi/plugin.hpp>

#include <boost/dll/alias.hpp>

namespace switchboard_test_bad_abi {

switchboard::spi::backend* create() { return nullptr; }

constexpr const char* schemes[] = {"badabi", nullptr};
constexpr switchboard_plugin_descriptor with_abi_999() {
    auto d = switchboard::spi::make_descriptor("badabi", "1.0", schemes, &create);
    d.abi = 999;
    return d;
}
const switchboard_plugin_descriptor descriptor = with_abi_999();

}  // namespace switchboard_test_bad_abi

BOOST_DLL_ALIAS(switchboard_test_bad_abi::descriptor, switchboard_plugin_v1)
