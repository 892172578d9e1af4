// SPDX-License-Identifier: MIT
// switchboard-wrongscheme.so: a module named for "wrongscheme" whose descriptor serves only "other".
#include <switchboard/spi/plugin.hpp>

#include <boost/dll/alias.hpp>

namespace switchboard_test_wrong_scheme {

switchboard::spi::backend* create() { return nullptr; }

constexpr const char* schemes[] = {"other", nullptr};
const switchboard_plugin_descriptor descriptor = switchboard::spi::make_descriptor("other", "1.0", schemes, &create);

}  // namespace switchboard_test_wrong_scheme

BOOST_DLL_ALIAS(switchboard_test_wrong_scheme::descriptor, switchboard_plugin_v1)
