// SPDX-License-Identifier: MIT
// switchboard-null.so: a valid descriptor whose factory returns no backend; the loader must refuse it.
#include <switchboard/spi/plugin.hpp>

#include <boost/dll/alias.hpp>

namespace switchboard_test_null {

switchboard::spi::backend* create() { return nullptr; }

constexpr const char* schemes[] = {"null", nullptr};
const switchboard_plugin_descriptor descriptor = switchboard::spi::make_descriptor("null", "1.0", schemes, &create);

}  // namespace switchboard_test_null

BOOST_DLL_ALIAS(switchboard_test_null::descriptor, switchboard_plugin_v1)
