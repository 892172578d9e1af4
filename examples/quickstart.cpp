// SPDX-License-Identifier: MIT
// Quickstart: open SQLite, create a table, write in a transaction, read typed rows, catch an error by kind.
#include <switchboard/connection.hpp>

#include <cstdint>
#include <iostream>
#include <optional>
#include <string>

int main() {
    using namespace switchboard;
    try {
        // The SQLite plugin (switchboard-sqlite.so) is found and loaded from the scheme.
        database db("sqlite::memory:");
        connection conn = db.connect();

        conn.execute("CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, price REAL, note TEXT)");

        // Write in a transaction: BEGIN IMMEDIATE on SQLite; rolled back if we leave early.
        auto tx = conn.begin(tx_mode::write);
        conn.execute("INSERT INTO fruit (name, price, note) VALUES (?, ?, ?)", "apple", 0.5, "crisp");
        conn.execute("INSERT INTO fruit (name, price, note) VALUES (?, ?, ?)", "pear", 0.75, null);
        const command_result r = conn.execute("INSERT INTO fruit (name, price) VALUES (?, ?)", "fig", 2.0);
        tx.commit();
        std::cout << "inserted fig with id " << r.last_insert_id.value_or(-1) << "\n";

        // Read typed rows; a column that may be NULL is read as std::optional.
        for (const row& fruit : conn.query("SELECT id, name, price, note FROM fruit WHERE price < ? ORDER BY id", 5.0)) {
            std::cout << fruit.get<std::int64_t>("id") << " " << fruit.get<std::string>("name") << " costs "
                      << fruit.get<double>("price") << " (" << fruit.get<std::optional<std::string>>("note").value_or("no note")
                      << ")\n";
        }

        // Errors carry a stable kind: here a unique constraint is errc::integrity.
        try {
            conn.execute("INSERT INTO fruit (name, price) VALUES (?, ?)", "apple", 1.0);
        } catch (const error& e) {
            std::cout << "caught " << to_string(e.kind()) << " (connection usable: " << std::boolalpha
                      << e.connection_usable() << "): " << e.what() << "\n";
        }
        std::cout << conn.query_value<std::int64_t>("SELECT COUNT(*) FROM fruit") << " fruits\n";
        return 0;
    } catch (const switchboard::error& e) {
        std::cerr << "switchboard error " << to_string(e.kind()) << ": " << e.what() << "\n";
        return 1;
    }
}
