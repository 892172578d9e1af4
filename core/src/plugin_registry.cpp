// SPDX-License-Identifier: MIT
// The plugin loader: finds backend modules by scheme, checks the file and its descriptor, keeps modules loaded.
#include <switchboard/plugin_registry.hpp>

#include <switchboard/build_config.hpp>
#include <switchboard/error.hpp>
#include <switchboard/spi/backend.hpp>

#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <system_error>
#include <utility>

#ifndef SWITCHBOARD_BUILD_PLUGIN_DIR
#error "core is built with SWITCHBOARD_BUILD_PLUGIN_DIR (see core/CMakeLists.txt)"
#endif
#ifndef SWITCHBOARD_INSTALL_PLUGIN_DIR
#error "core is built with SWITCHBOARD_INSTALL_PLUGIN_DIR (see core/CMakeLists.txt)"
#endif

namespace switchboard {

namespace spi {

const char* core_build_tag() noexcept { return SWITCHBOARD_BUILD_TAG; }

}  // namespace spi

namespace fs = std::filesystem;

/// One registered backend: what served which schemes, from where, and the handle that keeps
/// its code loaded (null for a backend linked into the program).
struct plugin_registry::entry {
    const switchboard_plugin_descriptor* descriptor = nullptr;
    std::string name;
    std::string origin;  // the module file as found, or empty for register_static
    std::vector<std::string> schemes;
    std::shared_ptr<spi::backend> backend;
    std::shared_ptr<void> library;
};

namespace {

constexpr const char* environment_variable = "SWITCHBOARD_PLUGIN_PATH";

// A descriptor whose NULL terminator is missing would make us read on forever; no backend
// serves anywhere near this many schemes.
constexpr std::size_t max_schemes = 64;
// Strings read from a descriptor are shown in messages; a corrupt one must not flood them.
constexpr std::size_t max_shown = 200;

[[noreturn]] void fail(std::string message, std::string backend) {
    error_info i;
    i.kind = errc::plugin;
    i.transient = is_transient_by_default(errc::plugin);
    i.connection_usable = keeps_connection_by_default(errc::plugin);
    i.message = std::move(message);
    i.backend = std::move(backend);
    throw_error(std::move(i));
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

std::string shown(const char* s) {
    if (s == nullptr) return "(null)";
    const std::size_t n = ::strnlen(s, max_shown + 1);
    return n > max_shown ? std::string(s, max_shown) + "..." : std::string(s, n);
}

std::string describe(const std::string& origin) {
    return origin.empty() ? std::string("the statically registered plugin") : "plugin file '" + origin + "'";
}

// The name errors carry as backend until the descriptor's own name has been checked.
std::string fallback_name(const std::string& origin) {
    return origin.empty() ? std::string() : fs::path(origin).stem().string();
}

// RFC 3986 scheme syntax, lowercase only (URLs are normalised before they reach us):
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). This also keeps '/' and ".." out of the file
// name built from it.
bool valid_scheme(std::string_view s) {
    if (s.empty() || s.size() > 64 || s.front() < 'a' || s.front() > 'z') return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    });
}

std::string module_file_for(std::string_view scheme) {
    std::string_view db = scheme;
    if (scheme == "postgres" || scheme == "postgresql") db = "postgresql";
    else if (scheme == "mysql" || scheme == "mariadb") db = "mysql";
    return "switchboard-" + std::string(db) + ".so";
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
    std::string s;
    for (const auto& i : items) {
        if (!s.empty()) s += separator;
        s += i;
    }
    return s;
}

std::string octal_mode(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
    return buf;
}

std::vector<fs::path> environment_directories() {
    // secure_getenv returns NULL when the process runs with AT_SECURE (setuid, setgid, file
    // capabilities): an environment-controlled plugin directory would hand the caller's
    // privileges to whoever sets it.
    const char* value = ::secure_getenv(environment_variable);
    std::vector<fs::path> dirs;
    if (value == nullptr) return dirs;
    std::string_view rest(value);
    while (true) {
        const auto colon = rest.find(':');
        const std::string_view item = rest.substr(0, colon);
        // Relative entries would depend on the working directory, so they are never used.
        if (!item.empty() && item.front() == '/') dirs.emplace_back(std::string(item));
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
    }
    return dirs;
}

std::vector<fs::path> search_path_of(const std::vector<fs::path>& added, bool use_environment,
                                     bool use_default_directories) {
    std::vector<fs::path> dirs = added;
    if (use_environment) {
        auto env = environment_directories();
        dirs.insert(dirs.end(), env.begin(), env.end());
    }
    if (use_default_directories) {
        dirs.emplace_back(SWITCHBOARD_BUILD_PLUGIN_DIR);
        dirs.emplace_back(SWITCHBOARD_INSTALL_PLUGIN_DIR);
    }
    return dirs;
}

// The mode and owner rule for a module and the directories it sits in: nobody but root and
// the effective user may have put it there or be able to replace it (the same rule as
// libpq's .pgpass, applied to code).
void check_mode_and_owner(const struct stat& st, const std::string& what, const fs::path& p,
                          const std::string& backend) {
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        fail(what + " " + quoted(p) + " refused: it is group/world-writable (mode " + octal_mode(st.st_mode) +
                 "), so another user could replace the code; run chmod go-w on it",
             backend);
    }
    const uid_t euid = ::geteuid();
    if (st.st_uid != 0 && st.st_uid != euid) {
        fail(what + " " + quoted(p) + " refused: it is owned by uid " + std::to_string(st.st_uid) +
                 ", not by root or the effective user (uid " + std::to_string(euid) +
                 "); chown it to one of them",
             backend);
    }
}

struct file_identity {
    dev_t device;
    ino_t inode;
    friend bool operator<(const file_identity& a, const file_identity& b) {
        return std::pair(a.device, a.inode) < std::pair(b.device, b.inode);
    }
};

struct checked_file {
    fs::path real;
    file_identity identity;
};

// Every check made before dlopen runs any of the module's code.
checked_file check_file(const fs::path& file) {
    const std::string backend = file.stem().string();
    if (!file.is_absolute()) {
        fail("plugin file " + quoted(file) +
                 " refused: not an absolute path; pass an absolute path, or add its directory with "
                 "plugin_registry::add_directory",
             backend);
    }
    std::error_code ec;
    const auto link_status = fs::symlink_status(file, ec);
    if (ec || !fs::exists(link_status)) {
        fail("plugin file " + quoted(file) + " does not exist; check the path, or install the plugin there",
             backend);
    }

    const fs::path dir = file.parent_path();
    const fs::path real_dir = fs::canonical(dir, ec);
    if (ec) {
        fail("plugin file " + quoted(file) + " refused: its directory cannot be resolved (" + ec.message() + ")",
             backend);
    }
    const fs::path real = fs::canonical(file, ec);
    if (ec) {
        fail("plugin file " + quoted(file) + " refused: it cannot be resolved (" + ec.message() +
                 "); a dangling symlink? put the module itself in the directory",
             backend);
    }
    // The real file must lie inside the real directory it was found in: a symlink out of a
    // trusted directory would make the directory checks below meaningless.
    const fs::path inside = real.lexically_relative(real_dir);
    if (inside.empty() || inside == "." || *inside.begin() == "..") {
        fail("plugin file " + quoted(file) + " refused: it resolves to " + quoted(real) +
                 ", outside its directory " + quoted(real_dir) +
                 "; copy the module into the directory instead of linking to it",
             backend);
    }

    // O_NOFOLLOW: the last component must not have turned into a symlink since canonical();
    // O_NONBLOCK: a FIFO planted under the name must not hang us before fstat says what it is.
    const int fd = ::open(real.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        const int e = errno;
        fail("plugin file " + quoted(file) + " cannot be opened: " + std::generic_category().message(e), backend);
    }
    struct stat st {};
    const int r = ::fstat(fd, &st);
    const int e = errno;
    ::close(fd);
    if (r != 0) {
        fail("plugin file " + quoted(file) + " cannot be examined: " + std::generic_category().message(e), backend);
    }
    if (!S_ISREG(st.st_mode)) {
        fail("plugin file " + quoted(file) + " refused: not a regular file; install the module itself there",
             backend);
    }
    check_mode_and_owner(st, "plugin file", file, backend);

    // The directories that could let someone swap the file between these checks and dlopen:
    // its own and every one up to the directory it was found in (a symlink may lead deeper).
    std::vector<fs::path> dirs{real.parent_path()};
    while (dirs.back() != real_dir && dirs.back() != dirs.back().parent_path()) {
        dirs.push_back(dirs.back().parent_path());
    }
    for (const auto& d : dirs) {
        struct stat ds {};
        if (::stat(d.c_str(), &ds) != 0) {
            const int de = errno;
            fail("plugin directory " + quoted(d) + " cannot be examined: " + std::generic_category().message(de),
                 backend);
        }
        check_mode_and_owner(ds, "plugin directory", d, backend);
    }
    return {real, {st.st_dev, st.st_ino}};
}

// Every module ever opened, successful or refused, stays loaded for the life of the process.
// A successful one: its backend object and everything it made run its code. A refused one: its
// static initialisers have already run and may have left atexit or thread-exit handlers that
// point into it. Keyed by file identity so reloading the same file reuses the handle. Heap
// allocated and never destroyed, so nothing is unloaded during static destruction either.
std::mutex& kept_libraries_mutex() {
    static auto* m = new std::mutex;
    return *m;
}

std::map<file_identity, std::shared_ptr<boost::dll::shared_library>>& kept_libraries() {
    static auto* libraries = new std::map<file_identity, std::shared_ptr<boost::dll::shared_library>>;
    return *libraries;
}

std::shared_ptr<boost::dll::shared_library> open_library(const fs::path& file, const checked_file& checked) {
    std::lock_guard lock(kept_libraries_mutex());
    auto& libraries = kept_libraries();
    if (auto it = libraries.find(checked.identity); it != libraries.end()) return it->second;

    auto library = std::make_shared<boost::dll::shared_library>();
    std::error_code ec;
    // RTLD_NOW: an unresolved symbol fails here, not at some later call; RTLD_LOCAL: one
    // module's symbols never satisfy another's. The checked real path is what gets opened.
    ::dlerror();
    library->load(checked.real, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    if (ec || !library->is_loaded()) {
        // Boost reports only a generic error code; dlerror() still holds the loader's reason.
        const char* reason = ::dlerror();
        fail("plugin file " + quoted(file) + " could not be loaded: " + (reason ? std::string(reason) : ec.message()) +
                 "; is it a module built for this system?",
             file.stem().string());
    }
    libraries.emplace(checked.identity, library);
    return library;
}

struct vetted_descriptor {
    std::string name;
    std::vector<std::string> schemes;
};

// The descriptor checks, in the order the descriptor's contract allows: abi and size before
// anything else, then the build tag, and only then the other fields. Calls no plugin code.
vetted_descriptor vet(const switchboard_plugin_descriptor& d, const std::string& origin) {
    const std::string where = describe(origin);
    const std::string stem = fallback_name(origin);
    if (d.abi != SWITCHBOARD_PLUGIN_ABI) {
        fail(where + " was built for plugin ABI " + std::to_string(d.abi) + ", this core supports " +
                 std::to_string(SWITCHBOARD_PLUGIN_ABI) + "; rebuild the plugin against this version of switchboard",
             stem);
    }
    if (d.size < sizeof(switchboard_plugin_descriptor)) {
        fail(where + " has a descriptor of " + std::to_string(d.size) + " bytes, smaller than the " +
                 std::to_string(sizeof(switchboard_plugin_descriptor)) +
                 " this core reads; rebuild the plugin against this version of switchboard",
             stem);
    }
    const char* core_tag = spi::core_build_tag();
    if (d.build_tag == nullptr || std::strcmp(d.build_tag, core_tag) != 0) {
        fail(where + " was built with tag '" + shown(d.build_tag) + "', this core with '" + core_tag +
                 "'; rebuild the plugin with the same compiler, standard library and build type as core",
             stem);
    }
    if (d.name == nullptr || *d.name == '\0') {
        fail(where + " has a descriptor without a name; fix the plugin's descriptor", stem);
    }
    vetted_descriptor v;
    v.name = shown(d.name);
    if (d.create == nullptr) {
        fail("plugin '" + v.name + "' (" + where + ") has no factory; fix the plugin's descriptor", v.name);
    }
    if (d.schemes != nullptr) {
        for (std::size_t i = 0;; ++i) {
            if (i == max_schemes) {
                fail("plugin '" + v.name + "' (" + where + ") lists " + std::to_string(max_schemes) +
                         " schemes or more; is its list NULL-terminated?",
                     v.name);
            }
            if (d.schemes[i] == nullptr) break;
            const std::string s = shown(d.schemes[i]);
            if (!valid_scheme(s)) {
                fail("plugin '" + v.name + "' (" + where + ") lists '" + s +
                         "', which is not a lowercase URL scheme; fix the plugin's descriptor",
                     v.name);
            }
            if (std::find(v.schemes.begin(), v.schemes.end(), s) == v.schemes.end()) v.schemes.push_back(s);
        }
    }
    if (v.schemes.empty()) {
        fail("plugin '" + v.name + "' (" + where + ") lists no URL schemes; fix the plugin's descriptor", v.name);
    }
    return v;
}

struct opened_module {
    std::shared_ptr<boost::dll::shared_library> library;
    const switchboard_plugin_descriptor* descriptor;
};

// Checks, opens and finds the descriptor of a module file. wanted is the scheme the file was
// looked up for (empty for an explicit load). Registers nothing.
opened_module open_module(const fs::path& file, std::string_view wanted) {
    const checked_file checked = check_file(file);
    auto library = open_library(file, checked);
    if (!library->has(SWITCHBOARD_PLUGIN_SYMBOL)) {
        fail("plugin file " + quoted(file) + " does not export the symbol '" SWITCHBOARD_PLUGIN_SYMBOL
             "'; it is not a switchboard plugin, or was built without "
             "BOOST_DLL_ALIAS(descriptor, " SWITCHBOARD_PLUGIN_SYMBOL ")",
             file.stem().string());
    }
    const auto& d = library->get_alias<const switchboard_plugin_descriptor>(SWITCHBOARD_PLUGIN_SYMBOL);
    const vetted_descriptor v = vet(d, file.string());
    if (!wanted.empty() && std::find(v.schemes.begin(), v.schemes.end(), wanted) == v.schemes.end()) {
        fail("plugin '" + v.name + "' (" + describe(file.string()) + ") does not serve scheme '" +
                 std::string(wanted) + "', only: " + joined(v.schemes, ", ") +
                 "; the file is misnamed or in the wrong directory",
             v.name);
    }
    return {std::move(library), &d};
}

}  // namespace

plugin_registry::plugin_registry() = default;
plugin_registry::~plugin_registry() = default;

plugin_registry& plugin_registry::global() {
    // Never destroyed: backends may still be in use by objects destroyed after main returns.
    static auto* registry = new plugin_registry;
    return *registry;
}

void plugin_registry::add_directory(fs::path dir) {
    if (!dir.is_absolute()) {
        throw_usage("plugin directory " + quoted(dir) +
                    " refused: not an absolute path; plugins are only searched for in absolute directories");
    }
    std::lock_guard lock(mutex_);
    directories_.push_back(std::move(dir));
}

void plugin_registry::use_environment(bool on) {
    std::lock_guard lock(mutex_);
    use_environment_ = on;
}

void plugin_registry::use_default_directories(bool on) {
    std::lock_guard lock(mutex_);
    use_default_directories_ = on;
}

std::vector<fs::path> plugin_registry::search_path() const {
    std::lock_guard lock(mutex_);
    return search_path_of(directories_, use_environment_, use_default_directories_);
}

void plugin_registry::register_static(const switchboard_plugin_descriptor& descriptor) {
    std::lock_guard lock(mutex_);
    add_entry(descriptor, std::string(), nullptr);
}

void plugin_registry::load(const fs::path& file) {
    // Loading happens under the registry's mutex, so two threads never load or register the
    // same module twice. A plugin's initialisers and factory must therefore not call back
    // into this registry.
    std::lock_guard lock(mutex_);
    auto module = open_module(file, {});
    add_entry(*module.descriptor, file.string(), std::move(module.library));
}

std::shared_ptr<spi::backend> plugin_registry::backend_for(std::string_view scheme) {
    if (!valid_scheme(scheme)) {
        fail("no backend for scheme '" + std::string(scheme.substr(0, max_shown)) +
                 "': not a lowercase URL scheme (letters, digits, '+', '-', '.', starting with a letter); "
                 "check the URL",
             std::string());
    }
    std::lock_guard lock(mutex_);
    if (auto found = find_locked(scheme)) return found;

    const std::string file_name = module_file_for(scheme);
    std::vector<std::string> tried;
    for (const auto& dir : search_path_of(directories_, use_environment_, use_default_directories_)) {
        const fs::path candidate = dir / file_name;
        tried.push_back(candidate.string());
        std::error_code ec;
        if (!fs::exists(fs::symlink_status(candidate, ec))) continue;
        // The first module found is the one used: one that is refused is an error to fix,
        // not a reason to fall through to a later directory.
        auto module = open_module(candidate, scheme);
        add_entry(*module.descriptor, candidate.string(), std::move(module.library));
        if (auto found = find_locked(scheme)) return found;
    }

    std::vector<std::string> known;
    for (const auto& e : entries_) known.insert(known.end(), e->schemes.begin(), e->schemes.end());
    std::sort(known.begin(), known.end());
    fail("no backend for scheme '" + std::string(scheme) + "': known schemes: " +
             (known.empty() ? std::string("none") : joined(known, ", ")) + "; tried: " +
             (tried.empty() ? std::string("nothing, the search path is empty") : joined(tried, ", ")) +
             ". Install " + file_name + " in one of those directories, add its directory with "
             "plugin_registry::add_directory or " + environment_variable +
             ", or register a linked-in backend with plugin_registry::register_static",
         std::string(scheme));
}

std::vector<std::string> plugin_registry::schemes() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> all;
    for (const auto& e : entries_) all.insert(all.end(), e->schemes.begin(), e->schemes.end());
    std::sort(all.begin(), all.end());
    return all;
}

// Called with mutex_ held. Runs the descriptor checks, the scheme conflict check and the
// factory; registers only when all of them pass.
void plugin_registry::add_entry(const switchboard_plugin_descriptor& d, std::string origin,
                                std::shared_ptr<void> library) {
    // The same module (or static descriptor) registered again, e.g. load() of a file that
    // backend_for() already loaded: nothing to do.
    for (const auto& e : entries_) {
        if (e->descriptor == &d) return;
    }
    const std::string where = describe(origin);
    vetted_descriptor v = vet(d, origin);
    for (const auto& s : v.schemes) {
        for (const auto& e : entries_) {
            if (std::find(e->schemes.begin(), e->schemes.end(), s) != e->schemes.end()) {
                fail("plugin '" + v.name + "' (" + where + ") serves scheme '" + s + "', which plugin '" + e->name +
                         "' (" + describe(e->origin) + ") already serves; remove one of them",
                     v.name);
            }
        }
    }

    spi::backend* raw = nullptr;
    try {
        raw = d.create();
    } catch (const error& e) {
        fail("plugin '" + v.name + "' (" + where + ") failed to start: " + e.what() + "; fix what it reports", v.name);
    } catch (const std::exception& e) {
        fail("plugin '" + v.name + "' (" + where + ") failed to start: " + e.what() + "; fix what it reports", v.name);
    } catch (...) {
        fail("plugin '" + v.name + "' (" + where +
                 ") failed to start: its factory threw something that is not a std::exception; report it to the "
                 "plugin's authors",
             v.name);
    }
    if (raw == nullptr) {
        fail("plugin '" + v.name + "' (" + where + ") failed to start: its factory returned no backend", v.name);
    }

    // The backend holds a handle on its library, so its code outlives it whatever else happens.
    std::shared_ptr<spi::backend> backend(raw, [library](spi::backend* b) { delete b; });
    auto e = std::make_unique<entry>();
    e->descriptor = &d;
    e->name = std::move(v.name);
    e->origin = std::move(origin);
    e->schemes = std::move(v.schemes);
    e->backend = std::move(backend);
    e->library = std::move(library);
    entries_.push_back(std::move(e));
}

std::shared_ptr<spi::backend> plugin_registry::find_locked(std::string_view scheme) const {
    for (const auto& e : entries_) {
        if (std::find(e->schemes.begin(), e->schemes.end(), scheme) != e->schemes.end()) return e->backend;
    }
    return nullptr;
}

}  // namespace switchboard
