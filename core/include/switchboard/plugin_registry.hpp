// SPDX-License-Identifier: MIT
// Finds, verifies and loads backend plugins, and maps URL schemes to backends.
#pragma once

#include <switchboard/export.hpp>
#include <switchboard/spi/plugin.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

namespace spi {
class backend;
}

/// Maps URL schemes to backends, loading plugin modules on demand.
///
/// Search order for the module of a scheme (switchboard-<name>.so, where <name> is the
/// scheme, or "postgresql" for postgres, "mysql" for mariadb):
///   1. directories the application added with add_directory(), in order;
///   2. SWITCHBOARD_PLUGIN_PATH (colon-separated absolute paths; read with secure_getenv,
///      so ignored in setuid programs; disable with use_environment(false));
///   3. the build tree's plugins directory (where this core was built);
///   4. the install directory (<libdir>/switchboard/plugins).
/// Nothing is loaded from anywhere else. A module or directory that is group- or
/// world-writable, owned by another user than root or the effective user, or whose real
/// path leaves its directory (a symlink out) is refused.
///
/// Before any plugin code runs, the exported descriptor's ABI number, size and build tag
/// are checked against core's; then its factory is called once. Any failure throws
/// plugin_error naming the file (and, for a mismatch, both values) and registers nothing.
/// Modules stay loaded for the life of the process.
///
/// Thread safety: every member function may be called from any thread.
class SWITCHBOARD_API plugin_registry {
public:
    plugin_registry();
    ~plugin_registry();
    plugin_registry(const plugin_registry&) = delete;
    plugin_registry& operator=(const plugin_registry&) = delete;

    /// The process-wide registry that switchboard::database uses unless given another.
    static plugin_registry& global();

    /// Adds a directory searched before the environment and the default directories.
    void add_directory(std::filesystem::path dir);
    /// Whether SWITCHBOARD_PLUGIN_PATH is consulted (default true).
    void use_environment(bool on);
    /// Whether the build-tree and install directories are consulted (default true).
    void use_default_directories(bool on);

    /// The directories searched, in order, as they stand now.
    std::vector<std::filesystem::path> search_path() const;

    /// Registers a backend linked into the program (single-binary deployments). Same checks
    /// as for a module, minus the file ones.
    void register_static(const switchboard_plugin_descriptor& descriptor);

    /// Loads one module file explicitly (absolute path), with every check.
    void load(const std::filesystem::path& file);

    /// The backend for a URL scheme, loading its module on first use. Throws plugin_error
    /// (unknown scheme: lists the known schemes and every path tried).
    std::shared_ptr<spi::backend> backend_for(std::string_view scheme);

    /// Schemes registered so far (loaded or static).
    std::vector<std::string> schemes() const;

private:
    struct entry;
    void add_entry(const switchboard_plugin_descriptor& d, std::string origin, std::shared_ptr<void> library);
    std::shared_ptr<spi::backend> find_locked(std::string_view scheme) const;

    mutable std::mutex mutex_;
    std::vector<std::filesystem::path> directories_;
    bool use_environment_ = true;
    bool use_default_directories_ = true;
    std::vector<std::unique_ptr<entry>> entries_;
};

}  // namespace switchboard
