// SPDX-License-Identifier: MIT
// The MySQL/MariaDB backend object (name, capabilities, URL checks, connect, classify) and its descriptor.
#include <switchboard/mysql/mysql.hpp>

#include "mysql_classifier.hpp"
#include "mysql_connection.hpp"

#include <switchboard/spi/backend.hpp>

#include <mariadb_version.h>

namespace switchboard::mysql {

namespace {

// Stateless: shared by every connection of every mysql/mariadb database, from any thread.
class mysql_backend final : public spi::backend {
public:
    std::string_view name() const noexcept override { return "mysql"; }

    // read_only_transactions: START TRANSACTION READ ONLY refuses writes with 1792.
    // named_locks: GET_LOCK / RELEASE_LOCK. nul_in_text: text is bound and fetched with its
    // exact length. No transactional_ddl: DDL commits implicitly. No nan_values, no
    // infinity_values: DOUBLE stores neither, so binding one is refused.
    spi::capability capabilities() const noexcept override {
        using spi::capability;
        return capability::last_insert_id | capability::read_only_transactions | capability::named_locks |
               capability::network | capability::nul_in_text;
    }

    void validate(const url& location) const override { (void)mysql_options::from(location); }

    std::unique_ptr<spi::backend_connection> connect(const spi::connect_request& request) override {
        return std::make_unique<mysql_connection>(mysql_options::from(request.location), request.database_name);
    }

    spi::classification classify(const spi::native_error& error) const noexcept override {
        return mysql::classify(error);
    }
};

spi::backend* create() { return new mysql_backend(); }

constexpr const char* schemes[] = {"mysql", "mariadb", nullptr};

}  // namespace

// Constant-initialised, so a static registration in another translation unit's initialiser
// never sees it half-made.
constinit const switchboard_plugin_descriptor descriptor = spi::make_descriptor(
    "mysql", SWITCHBOARD_VERSION " (MariaDB Connector/C " MARIADB_PACKAGE_VERSION ")", schemes, &create);

}  // namespace switchboard::mysql
