// SPDX-License-Identifier: MIT
// switchboard-fake.so: a well-formed module with a trivial backend, the control case of the loader tests.
#include <switchboard/spi/backend.hpp>
#include <switchboard/spi/plugin.hpp>

#include <boost/dll/alias.hpp>

#include <utility>

namespace switchboard_test_fake {

namespace spi = switchboard::spi;

// Enough of a backend to be created, named and asked to classify; it never connects.
class fake_plugin_backend final : public spi::backend {
public:
    std::string_view name() const noexcept override { return "fake"; }
    spi::capability capabilities() const noexcept override { return spi::capability::none; }
    void validate(const switchboard::url&) const override {}
    std::unique_ptr<spi::backend_connection> connect(const spi::connect_request&) override {
        spi::native_error e;
        e.op = spi::operation::connect;
        e.message = "the fake plugin backend does not connect";
        throw spi::native_failure(std::move(e));
    }
    spi::classification classify(const spi::native_error&) const noexcept override {
        return spi::classification::of(switchboard::errc::other);
    }
};

spi::backend* create() { return new fake_plugin_backend; }

constexpr const char* schemes[] = {"fake", "fake+alt", nullptr};
const switchboard_plugin_descriptor descriptor = spi::make_descriptor("fake", "1.0", schemes, &create);

}  // namespace switchboard_test_fake

BOOST_DLL_ALIAS(switchboard_test_fake::descriptor, switchboard_plugin_v1)
