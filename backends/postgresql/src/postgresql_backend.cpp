// SPDX-License-Identifier: MIT
// The PostgreSQL backend object (name, capabilities, URL checks, connect, classify) and its descriptor.
#include <switchboard/postgresql/postgresql.hpp>

#include "postgresql_classifier.hpp"
#include "postgresql_connection.hpp"

#include <switchboard/spi/backend.hpp>

#include <pg_config.h>  // PG_VERSION of the libpq headers built against

namespace switchboard::postgresql {

namespace {

// Stateless: shared by every connection of every postgresql database, from any thread.
class postgresql_backend final : public spi::backend {
public:
    std::string_view name() const noexcept override { return "postgresql"; }

    // read_only_transactions: BEGIN READ ONLY refuses writes with 25006. transactional_ddl:
    // CREATE/DROP roll back with the transaction. named_locks: advisory locks. nan_values and
    // infinity_values: float8 stores both. No last_insert_id: PostgreSQL has no per-session
    // "last id"; use INSERT ... RETURNING id.
    spi::capability capabilities() const noexcept override {
        using spi::capability;
        return capability::read_only_transactions | capability::transactional_ddl | capability::named_locks |
               capability::network | capability::nan_values | capability::infinity_values;
    }

    void validate(const url& location) const override { (void)postgresql_options::from(location); }

    // The connection is made from the full URL every time, reconnects included: every
    // parameter, TLS ones too, is used again (reliability.md §3.3, CVE-2020-25694).
    std::unique_ptr<spi::backend_connection> connect(const spi::connect_request& request) override {
        return std::make_unique<postgresql_connection>(postgresql_options::from(request.location),
                                                       request.database_name);
    }

    spi::classification classify(const spi::native_error& error) const noexcept override {
        return postgresql::classify(error);
    }
};

spi::backend* create() { return new postgresql_backend(); }

constexpr const char* schemes[] = {"postgresql", "postgres", nullptr};

}  // namespace

// Constant-initialised, so a static registration in another translation unit's initialiser
// never sees it half-made.
constinit const switchboard_plugin_descriptor descriptor =
    spi::make_descriptor("postgresql", SWITCHBOARD_VERSION " (libpq " PG_VERSION ")", schemes, &create);

}  // namespace switchboard::postgresql
