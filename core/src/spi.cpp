// SPDX-License-Identifier: MIT
// Out-of-line anchors of the plugin contract's classes, so their type information lives in core once.
#include <switchboard/spi/backend.hpp>

#include <memory>

namespace switchboard::spi {

native_failure::~native_failure() = default;
backend_statement::~backend_statement() = default;
backend_connection::~backend_connection() = default;

void backend_connection::lock(std::string_view, std::chrono::milliseconds) {
    throw_usage("this backend has no named locks (capability named_locks)");
}

void backend_connection::unlock(std::string_view) {
    throw_usage("this backend has no named locks (capability named_locks)");
}

server_identity backend_connection::identity() { return {}; }

void backend_connection::ping() {
    try {
        const std::unique_ptr<backend_statement> statement = prepare("SELECT 1");
        statement->execute({});
        while (statement->next_row()) {
        }
        statement->reset();
    } catch (native_failure& f) {
        f.error().op = operation::ping;
        throw;
    }
}
backend::~backend() = default;

}  // namespace switchboard::spi
