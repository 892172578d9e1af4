// SPDX-License-Identifier: MIT
// switchboard-throwing.so: a valid descriptor whose factory throws; the loader must report it and register nothing.
#include <switchboard/spi/plugin.hpp>

#include <boost/dll/alias.hpp>

#include <stdexcept>

namespace switchboard_test_throwing {

switchboard::spi::backend* create() { throw std::runtime_error("boom"); }

constexpr const char* schemes[] = {"throwing", nullptr};
const switchboard_plugin_descriptor descriptor = switchboard::spi::make_descriptor("throwing", "1.0", schemes, &create);

}  // namespace switchboard_test_throwing

BOOST_DLL_ALIAS(switchboard_test_throwing::descriptor, switchboard_plugin_v1)
