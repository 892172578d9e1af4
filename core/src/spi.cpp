// SPDX-License-Identifier: MIT
// Out-of-line anchors of the plugin contract's classes, so their type information lives in core once.
#include <switchboard/spi/backend.hpp>

namespace switchboard::spi {

native_failure::~native_failure() = default;
backend_statement::~backend_statement() = default;
backend_connection::~backend_connection() = default;
backend::~backend() = default;

}  // namespace switchboard::spi
