// SPDX-License-Identifier: MIT
// The SQLite backend object (name, capabilities, URL checks, connect, classify) and its descriptor.
#include <switchboard/sqlite/sqlite.hpp>

#include "sqlite_classifier.hpp"
#include "sqlite_connection.hpp"

#include <switchboard/spi/backend.hpp>

#include <sqlite3.h>

namespace switchboard::sqlite {

namespace {

// Stateless: shared by every connection of every sqlite database, from any thread.
class sqlite_backend final : public spi::backend {
public:
    std::string_view name() const noexcept override { return "sqlite"; }

    // read_only_transactions: statements that write are refused in a tx_mode::read transaction
    // (sqlite_statement::execute).
    // No nan_values: SQLite stores a NaN double as NULL, so binding one is refused. No network:
    // an embedded file is never disconnected.
    spi::capability capabilities() const noexcept override {
        using spi::capability;
        return capability::last_insert_id | capability::transactional_ddl | capability::writer_lock |
               capability::read_only_transactions | capability::infinity_values |
               capability::nul_in_text;
    }

    void validate(const url& location) const override { (void)sqlite_options::from(location); }

    std::unique_ptr<spi::backend_connection> connect(const spi::connect_request& request) override {
        return std::make_unique<sqlite_connection>(sqlite_options::from(request.location), request.database_name);
    }

    spi::classification classify(const spi::native_error& error) const noexcept override {
        return sqlite::classify(error);
    }
};

spi::backend* create() { return new sqlite_backend(); }

constexpr const char* schemes[] = {"sqlite", nullptr};

}  // namespace

// Constant-initialised, so a static registration in another translation unit's initialiser
// never sees it half-made.
constinit const switchboard_plugin_descriptor descriptor =
    spi::make_descriptor("sqlite", SWITCHBOARD_VERSION " (SQLite " SQLITE_VERSION ")", schemes, &create);

}  // namespace switchboard::sqlite
