// SPDX-License-Identifier: MIT
// switchboard-badtag.so: a descriptor carrying another compiler's build tag; the loader must refuse it.
#include <switchboard/spi/plugin.hpp>

#include <boost/dll/alias.hpp>

namespace switchboard_test_bad_tag {

switchboard::spi::backend* create() { return nullptr; }

constexpr const char* schemes[] = {"badtag", nullptr};
constexpr switchboard_plugin_descriptor with_other_tag() {
    auto d = switchboard::spi::make_descriptor("badtag", "1.0", schemes, &create);
    d.build_tag = "other-compiler/other-stdlib/Debug/core0";
    return d;
}
const switchboard_plugin_descriptor descriptor = with_other_tag();

}  // namespace switchboard_test_bad_tag

BOOST_DLL_ALIAS(switchboard_test_bad_tag::descriptor, switchboard_plugin_v1)
