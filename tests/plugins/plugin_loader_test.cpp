// SPDX-License-Identifier: MIT
// plugin_registry against real modules: the good fake, deliberately broken ones, unsafe files, the real SQLite one.
#include <switchboard/error.hpp>
#include <switchboard/plugin_registry.hpp>
#include <switchboard/spi/backend.hpp>
#include <switchboard/spi/plugin.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace spi = switchboard::spi;
using switchboard::plugin_registry;

const fs::path module_dir{SWITCHBOARD_TEST_MODULE_DIR};

fs::path module_for(const std::string& scheme) { return module_dir / ("switchboard-" + scheme + ".so"); }

// A registry that sees only the directories a test gives it.
void isolate(plugin_registry& r) {
    r.use_environment(false);
    r.use_default_directories(false);
}

void isolate_with_modules(plugin_registry& r) {
    isolate(r);
    r.add_directory(module_dir);
}

switchboard::plugin_error plugin_failure(const std::function<void()>& f) {
    try {
        f();
    } catch (const switchboard::plugin_error& e) {
        CHECK(e.kind() == switchboard::errc::plugin);
        CHECK_FALSE(e.is_transient());
        return e;
    }
    FAIL("expected a plugin_error");
    throw std::logic_error("unreachable");
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// What every refusal must leave behind: the registry as it was, and still able to load a good module.
void check_nothing_registered_and_fake_loads(plugin_registry& r, const std::vector<std::string>& before) {
    CHECK(r.schemes() == before);
    auto fake = r.backend_for("fake");
    REQUIRE(fake != nullptr);
    CHECK(fake->name() == "fake");
}

// A fresh 0755 directory under the temporary directory, removed with everything in it.
class temp_dir {
public:
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "switchboard-plugin-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
        fs::permissions(path_, fs::perms(0755));
    }
    ~temp_dir() {
        std::error_code ec;
        fs::permissions(path_, fs::perms(0755), ec);
        fs::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const fs::path& path() const { return path_; }

    // A copy of the good fake module in this directory, mode 0755.
    fs::path copy_fake(const std::string& file_name = "switchboard-fake.so") const {
        const fs::path to = path_ / file_name;
        fs::copy_file(module_for("fake"), to, fs::copy_options::overwrite_existing);
        fs::permissions(to, fs::perms(0755));
        return to;
    }

private:
    fs::path path_;
};

// Sets an environment variable for one test and restores the previous state.
class scoped_env {
public:
    scoped_env(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~scoped_env() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

// A backend linked into the test program, for register_static.
class static_backend final : public spi::backend {
public:
    std::string_view name() const noexcept override { return "static"; }
    spi::capability capabilities() const noexcept override { return spi::capability::none; }
    void validate(const switchboard::url&) const override {}
    std::unique_ptr<spi::backend_connection> connect(const spi::connect_request&) override {
        spi::native_error e;
        e.op = spi::operation::connect;
        e.message = "never connects";
        throw spi::native_failure(std::move(e));
    }
    spi::classification classify(const spi::native_error&) const noexcept override {
        return spi::classification::of(switchboard::errc::other);
    }
};

spi::backend* create_static() { return new static_backend; }

constexpr const char* static_schemes[] = {"static", nullptr};
constexpr const char* fake_schemes[] = {"fake", nullptr};
// Registered descriptors live as long as the program, as a linked-in backend's does.
const switchboard_plugin_descriptor static_descriptor =
    spi::make_descriptor("static", "1.0", static_schemes, &create_static);
const switchboard_plugin_descriptor static_fake_descriptor =
    spi::make_descriptor("static-fake", "1.0", fake_schemes, &create_static);
constexpr const char* no_schemes[] = {nullptr};
constexpr const char* bad_schemes[] = {"Bad/Scheme", nullptr};

}  // namespace

TEST_CASE("a good module loads on first use and serves every scheme it lists") {
    plugin_registry r;
    isolate_with_modules(r);
    CHECK(r.schemes().empty());

    auto fake = r.backend_for("fake");
    REQUIRE(fake != nullptr);
    CHECK(fake->name() == "fake");
    CHECK(fake->classify(spi::native_error{}) == spi::classification::of(switchboard::errc::other));
    CHECK(r.schemes() == std::vector<std::string>{"fake", "fake+alt"});
    CHECK(r.backend_for("fake+alt") == fake);
    CHECK(r.backend_for("fake") == fake);
}

TEST_CASE("loading the same module again, explicitly or by scheme, registers it once") {
    plugin_registry r;
    isolate_with_modules(r);
    r.load(module_for("fake"));
    auto fake = r.backend_for("fake");
    r.load(module_for("fake"));
    CHECK(r.backend_for("fake") == fake);
    CHECK(r.schemes() == std::vector<std::string>{"fake", "fake+alt"});
}

TEST_CASE("concurrent first uses load the module once and share one backend") {
    plugin_registry r;
    isolate_with_modules(r);
    std::vector<std::shared_ptr<spi::backend>> seen(8);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        threads.emplace_back([&, i] { seen[i] = r.backend_for("fake"); });
    }
    for (auto& t : threads) t.join();
    REQUIRE(seen[0] != nullptr);
    CHECK(std::all_of(seen.begin(), seen.end(), [&](const auto& b) { return b == seen[0]; }));
    CHECK(r.schemes() == std::vector<std::string>{"fake", "fake+alt"});
}

TEST_CASE("an unknown scheme lists the known schemes and every path tried") {
    plugin_registry r;
    isolate_with_modules(r);
    r.add_directory("/nonexistent-switchboard-plugin-dir");
    r.backend_for("fake");

    const auto e = plugin_failure([&] { r.backend_for("nosuch"); });
    const std::string m = e.message();
    CHECK(contains(m, "no backend for scheme 'nosuch'"));
    CHECK(contains(m, "known schemes: fake, fake+alt"));
    CHECK(contains(m, (module_dir / "switchboard-nosuch.so").string()));
    CHECK(contains(m, "/nonexistent-switchboard-plugin-dir/switchboard-nosuch.so"));
    CHECK(r.schemes() == std::vector<std::string>{"fake", "fake+alt"});
}

TEST_CASE("an empty search path is said to be empty") {
    plugin_registry r;
    isolate(r);
    const auto e = plugin_failure([&] { r.backend_for("fake"); });
    CHECK(contains(e.message(), "known schemes: none"));
    CHECK(contains(e.message(), "search path is empty"));
}

TEST_CASE("postgres and mariadb look for the module they share with postgresql and mysql") {
    plugin_registry r;
    isolate(r);
    r.add_directory("/nonexistent-switchboard-plugin-dir");
    CHECK(contains(plugin_failure([&] { r.backend_for("postgres"); }).message(),
                   "/nonexistent-switchboard-plugin-dir/switchboard-postgresql.so"));
    CHECK(contains(plugin_failure([&] { r.backend_for("postgresql"); }).message(),
                   "/nonexistent-switchboard-plugin-dir/switchboard-postgresql.so"));
    CHECK(contains(plugin_failure([&] { r.backend_for("mariadb"); }).message(),
                   "/nonexistent-switchboard-plugin-dir/switchboard-mysql.so"));
    CHECK(contains(plugin_failure([&] { r.backend_for("mysql"); }).message(),
                   "/nonexistent-switchboard-plugin-dir/switchboard-mysql.so"));
}

TEST_CASE("a scheme that is not a URL scheme is refused before any path is built") {
    plugin_registry r;
    isolate_with_modules(r);
    for (const char* scheme : {"", "../fake", "a/b", "Fake", "1fake", "fa ke", ".."}) {
        INFO("scheme '" << scheme << "'");
        const auto e = plugin_failure([&] { r.backend_for(scheme); });
        CHECK(contains(e.message(), "not a lowercase URL scheme"));
        CHECK_FALSE(contains(e.message(), "tried"));
    }
    check_nothing_registered_and_fake_loads(r, {});
}

TEST_CASE("a missing file is named") {
    plugin_registry r;
    isolate_with_modules(r);
    const auto e = plugin_failure([&] { r.load("/nonexistent/x.so"); });
    CHECK(contains(e.message(), "'/nonexistent/x.so'"));
    CHECK(contains(e.message(), "does not exist"));
    check_nothing_registered_and_fake_loads(r, {});
}

TEST_CASE("a relative path is refused") {
    plugin_registry r;
    isolate_with_modules(r);
    const auto e = plugin_failure([&] { r.load("switchboard-fake.so"); });
    CHECK(contains(e.message(), "not an absolute path"));
    CHECK_THROWS_AS(r.add_directory("relative/plugins"), switchboard::usage_error);
    CHECK(r.search_path() == std::vector<fs::path>{module_dir});
    check_nothing_registered_and_fake_loads(r, {});
}

TEST_CASE("a module built for another plugin ABI is refused, naming both numbers") {
    plugin_registry r;
    isolate_with_modules(r);
    r.backend_for("fake");
    const auto before = r.schemes();

    const auto check = [&](const switchboard::plugin_error& e) {
        CHECK(contains(e.message(), module_for("badabi").string()));
        CHECK(contains(e.message(), "built for plugin ABI 999, this core supports " + std::to_string(SWITCHBOARD_PLUGIN_ABI)));
        CHECK(e.backend() == "switchboard-badabi");
    };
    SECTION("found by scheme") { check(plugin_failure([&] { r.backend_for("badabi"); })); }
    SECTION("loaded explicitly") { check(plugin_failure([&] { r.load(module_for("badabi")); })); }
    check_nothing_registered_and_fake_loads(r, before);
}

TEST_CASE("a module with another build tag is refused, naming both tags") {
    plugin_registry r;
    isolate_with_modules(r);
    const auto e = plugin_failure([&] { r.backend_for("badtag"); });
    CHECK(contains(e.message(), module_for("badtag").string()));
    CHECK(contains(e.message(), "'other-compiler/other-stdlib/Debug/core0'"));
    CHECK(contains(e.message(), std::string("'") + spi::core_build_tag() + "'"));
    check_nothing_registered_and_fake_loads(r, {});
}

TEST_CASE("a module without the descriptor alias is refused, naming the symbol") {
    plugin_registry r;
    isolate_with_modules(r);
    const auto e = plugin_failure([&] { r.backend_for("noalias"); });
    CHECK(contains(e.message(), module_for("noalias").string()));
    CHECK(contains(e.message(), "'switchboard_plugin_v1'"));
    check_nothing_registered_and_fake_loads(r, {});
}

TEST_CASE("a factory that throws is reported with the plugin's name and its message") {
    plugin_registry r;
    isolate_with_modules(r);
    const auto e = plugin_failure([&] { r.backend_for("throwing"); });
    CHECK(contains(e.message(), "plugin 'throwing'"));
    CHECK(contains(e.message(), "boom"));
    CHECK(e.backend() == "throwing");
    check_nothing_registered_and_fake_loads(r, {});
    // Still not registered on a second try: it fails the same way.
    CHECK(contains(plugin_failure([&] { r.backend_for("throwing"); }).message(), "boom"));
}

TEST_CASE("a factory that returns no backend is refused") {
    plugin_registry r;
    isolate_with_modules(r);
    const auto e = plugin_failure([&] { r.backend_for("null"); });
    CHECK(contains(e.message(), "plugin 'null'"));
    CHECK(contains(e.message(), "returned no backend"));
    check_nothing_registered_and_fake_loads(r, {});
}

TEST_CASE("a module that does not serve the scheme it was found for is refused") {
    plugin_registry r;
    isolate_with_modules(r);
    const auto e = plugin_failure([&] { r.backend_for("wrongscheme"); });
    CHECK(contains(e.message(), module_for("wrongscheme").string()));
    CHECK(contains(e.message(), "does not serve scheme 'wrongscheme'"));
    CHECK(contains(e.message(), "only: other"));
    check_nothing_registered_and_fake_loads(r, {});
}

TEST_CASE("a scheme another plugin already serves is refused") {
    plugin_registry r;
    isolate_with_modules(r);
    r.register_static(static_fake_descriptor);
    const auto e = plugin_failure([&] { r.load(module_for("fake")); });
    CHECK(contains(e.message(), "scheme 'fake'"));
    CHECK(contains(e.message(), "'static-fake'"));
    CHECK(r.schemes() == std::vector<std::string>{"fake"});
    CHECK(r.backend_for("fake")->name() == "static");
}

TEST_CASE("a group- or world-writable module or directory is refused") {
    plugin_registry r;
    isolate(r);
    temp_dir dir;
    const fs::path copy = dir.copy_fake();
    r.add_directory(dir.path());

    SECTION("a safe copy loads") {
        CHECK(r.backend_for("fake")->name() == "fake");
        return;
    }
    SECTION("group-writable file") {
        fs::permissions(copy, fs::perms(0775));
        const auto e = plugin_failure([&] { r.backend_for("fake"); });
        CHECK(contains(e.message(), "plugin file '" + copy.string() + "'"));
        CHECK(contains(e.message(), "group/world-writable"));
    }
    SECTION("world-writable file") {
        fs::permissions(copy, fs::perms(0757));
        const auto e = plugin_failure([&] { r.load(copy); });
        CHECK(contains(e.message(), copy.string()));
        CHECK(contains(e.message(), "group/world-writable"));
    }
    SECTION("group-writable directory") {
        fs::permissions(dir.path(), fs::perms(0775));
        const auto e = plugin_failure([&] { r.backend_for("fake"); });
        CHECK(contains(e.message(), "plugin directory '" + fs::canonical(dir.path()).string() + "'"));
        CHECK(contains(e.message(), "group/world-writable"));
    }
    SECTION("world-writable directory, even with the sticky bit") {
        fs::permissions(dir.path(), fs::perms(01777));
        const auto e = plugin_failure([&] { r.load(copy); });
        CHECK(contains(e.message(), "group/world-writable"));
    }
    CHECK(r.schemes().empty());
}

TEST_CASE("a module owned by another user is refused") {
    if (::geteuid() != 0) {
        WARN("skipped: only root can give a file to another user");
        return;
    }
    plugin_registry r;
    isolate(r);
    temp_dir dir;
    const fs::path copy = dir.copy_fake();
    r.add_directory(dir.path());

    SECTION("the file") {
        REQUIRE(::chown(copy.c_str(), 4242, 4242) == 0);
        const auto e = plugin_failure([&] { r.backend_for("fake"); });
        CHECK(contains(e.message(), copy.string()));
        CHECK(contains(e.message(), "owned by uid 4242"));
    }
    SECTION("its directory") {
        REQUIRE(::chown(dir.path().c_str(), 4242, 4242) == 0);
        const auto e = plugin_failure([&] { r.backend_for("fake"); });
        CHECK(contains(e.message(), "plugin directory"));
        CHECK(contains(e.message(), "owned by uid 4242"));
    }
    CHECK(r.schemes().empty());
}

TEST_CASE("a symlink out of the plugin directory is refused, one inside it is followed") {
    plugin_registry r;
    isolate(r);
    temp_dir dir;
    r.add_directory(dir.path());

    SECTION("pointing outside") {
        fs::create_symlink(module_for("fake"), dir.path() / "switchboard-fake.so");
        const auto e = plugin_failure([&] { r.backend_for("fake"); });
        CHECK(contains(e.message(), (dir.path() / "switchboard-fake.so").string()));
        CHECK(contains(e.message(), "outside its directory"));
        CHECK(r.schemes().empty());
    }
    SECTION("pointing outside through ..") {
        fs::create_directory(dir.path() / "sub");
        fs::permissions(dir.path() / "sub", fs::perms(0755));
        dir.copy_fake("real.so");
        fs::create_symlink("../real.so", dir.path() / "sub" / "switchboard-fake.so");
        const auto e = plugin_failure([&] { r.load(dir.path() / "sub" / "switchboard-fake.so"); });
        CHECK(contains(e.message(), "outside its directory"));
    }
    SECTION("dangling") {
        fs::create_symlink(dir.path() / "missing.so", dir.path() / "switchboard-fake.so");
        const auto e = plugin_failure([&] { r.backend_for("fake"); });
        CHECK(contains(e.message(), "cannot be resolved"));
    }
    SECTION("pointing inside") {
        dir.copy_fake("real-fake.so");
        fs::create_symlink("real-fake.so", dir.path() / "switchboard-fake.so");
        CHECK(r.backend_for("fake")->name() == "fake");
    }
    SECTION("pointing inside, through a world-writable subdirectory") {
        const fs::path sub = dir.path() / "sub";
        fs::create_directories(sub / "deeper");
        fs::permissions(sub / "deeper", fs::perms(0755));
        dir.copy_fake("sub/deeper/real-fake.so");
        fs::permissions(sub, fs::perms(0777));
        fs::create_symlink("sub/deeper/real-fake.so", dir.path() / "switchboard-fake.so");
        const auto e = plugin_failure([&] { r.backend_for("fake"); });
        CHECK(contains(e.message(), "plugin directory '" + fs::canonical(sub).string() + "'"));
        CHECK(contains(e.message(), "group/world-writable"));
    }
    SECTION("the directory itself reached through a symlink") {
        plugin_registry via_link;
        isolate(via_link);
        fs::create_directory_symlink(module_dir, dir.path() / "modules");
        via_link.add_directory(dir.path() / "modules");
        CHECK(via_link.backend_for("fake")->name() == "fake");
    }
}

TEST_CASE("something other than a regular file is refused") {
    plugin_registry r;
    isolate(r);
    temp_dir dir;
    r.add_directory(dir.path());
    SECTION("a directory") { fs::create_directory(dir.path() / "switchboard-fake.so"); }
    SECTION("a FIFO, without hanging") { REQUIRE(::mkfifo((dir.path() / "switchboard-fake.so").c_str(), 0644) == 0); }
    const auto e = plugin_failure([&] { r.backend_for("fake"); });
    CHECK(contains(e.message(), "not a regular file"));
    CHECK(r.schemes().empty());
}

TEST_CASE("a file the dynamic loader rejects is reported with the loader's reason") {
    plugin_registry r;
    isolate(r);
    temp_dir dir;
    const fs::path file = dir.path() / "switchboard-garbage.so";
    {
        std::ofstream out(file);
        out << std::string(4096, 'x');  // long enough for the loader to read a header and reject it
    }
    fs::permissions(file, fs::perms(0644));
    r.add_directory(dir.path());
    const auto e = plugin_failure([&] { r.backend_for("garbage"); });
    CHECK(contains(e.message(), "plugin file '" + file.string() + "' could not be loaded"));
    CHECK(contains(e.message(), "invalid ELF header"));  // dlerror()'s reason, not just a generic code
    CHECK(r.schemes().empty());
}

TEST_CASE("a backend stays usable after its registry is gone") {
    std::shared_ptr<spi::backend> fake;
    {
        plugin_registry r;
        isolate_with_modules(r);
        fake = r.backend_for("fake");
    }
    REQUIRE(fake != nullptr);
    CHECK(fake->name() == "fake");
    fake.reset();
    // The module was never unloaded: a new registry loads it again and works.
    plugin_registry again;
    isolate_with_modules(again);
    CHECK(again.backend_for("fake")->name() == "fake");
}

TEST_CASE("SWITCHBOARD_PLUGIN_PATH is searched unless the application turns it off") {
    scoped_env env("SWITCHBOARD_PLUGIN_PATH", "relative/dir::" + module_dir.string() + ":");
    plugin_registry r;
    r.use_default_directories(false);

    SECTION("on: only its absolute entries, in order") {
        r.use_environment(true);
        CHECK(r.search_path() == std::vector<fs::path>{module_dir});
        CHECK(r.backend_for("fake")->name() == "fake");
    }
    SECTION("off") {
        r.use_environment(false);
        CHECK(r.search_path().empty());
        const auto e = plugin_failure([&] { r.backend_for("fake"); });
        CHECK_FALSE(contains(e.message(), module_dir.string()));
    }
}

TEST_CASE("the search path is: added directories, environment, build tree, install directory") {
    scoped_env env("SWITCHBOARD_PLUGIN_PATH", "/from-environment");
    plugin_registry r;
    r.add_directory("/first");
    r.add_directory("/second");
    const auto path = r.search_path();
    REQUIRE(path.size() == 5);
    CHECK(path[0] == "/first");
    CHECK(path[1] == "/second");
    CHECK(path[2] == "/from-environment");
    CHECK(path[3] == fs::path(SWITCHBOARD_TEST_BUILD_PLUGIN_DIR));
    CHECK(path[4].filename() == "plugins");
    CHECK(path[4].parent_path().filename() == "switchboard");
}

TEST_CASE("register_static makes the same descriptor checks as a module") {
    plugin_registry r;
    isolate_with_modules(r);

    SECTION("a good descriptor registers once") {
        r.register_static(static_descriptor);
        r.register_static(static_descriptor);
        CHECK(r.schemes() == std::vector<std::string>{"static"});
        CHECK(r.backend_for("static")->name() == "static");
        return;
    }
    SECTION("wrong ABI") {
        auto d = spi::make_descriptor("static", "1.0", static_schemes, &create_static);
        d.abi = 999;
        const auto e = plugin_failure([&] { r.register_static(d); });
        CHECK(contains(e.message(), "statically registered"));
        CHECK(contains(e.message(), "built for plugin ABI 999, this core supports " + std::to_string(SWITCHBOARD_PLUGIN_ABI)));
    }
    SECTION("smaller descriptor") {
        auto d = spi::make_descriptor("static", "1.0", static_schemes, &create_static);
        d.size = 8;
        CHECK(contains(plugin_failure([&] { r.register_static(d); }).message(), "descriptor of 8 bytes"));
    }
    SECTION("wrong build tag") {
        auto d = spi::make_descriptor("static", "1.0", static_schemes, &create_static);
        d.build_tag = "other-compiler/x";
        CHECK(contains(plugin_failure([&] { r.register_static(d); }).message(), "'other-compiler/x'"));
    }
    SECTION("no schemes") {
        auto d = spi::make_descriptor("static", "1.0", no_schemes, &create_static);
        CHECK(contains(plugin_failure([&] { r.register_static(d); }).message(), "lists no URL schemes"));
        d.schemes = nullptr;
        CHECK(contains(plugin_failure([&] { r.register_static(d); }).message(), "lists no URL schemes"));
    }
    SECTION("a scheme that is not a URL scheme") {
        auto d = spi::make_descriptor("static", "1.0", bad_schemes, &create_static);
        CHECK(contains(plugin_failure([&] { r.register_static(d); }).message(), "'Bad/Scheme'"));
    }
    SECTION("no name or no factory") {
        auto d = spi::make_descriptor(nullptr, "1.0", static_schemes, &create_static);
        CHECK(contains(plugin_failure([&] { r.register_static(d); }).message(), "without a name"));
        d = spi::make_descriptor("static", "1.0", static_schemes, nullptr);
        CHECK(contains(plugin_failure([&] { r.register_static(d); }).message(), "no factory"));
    }
    check_nothing_registered_and_fake_loads(r, {});
}

TEST_CASE("the real SQLite module loads from the build tree") {
#ifdef SWITCHBOARD_TEST_HAVE_SQLITE_PLUGIN
    plugin_registry r;
    r.use_environment(false);
    r.use_default_directories(true);
    REQUIRE_FALSE(r.search_path().empty());
    CHECK(r.search_path().front() == fs::path(SWITCHBOARD_TEST_BUILD_PLUGIN_DIR));
    auto sqlite = r.backend_for("sqlite");
    REQUIRE(sqlite != nullptr);
    CHECK(sqlite->name() == "sqlite");
    const auto schemes = r.schemes();
    CHECK(std::find(schemes.begin(), schemes.end(), "sqlite") != schemes.end());
#else
    WARN("skipped: the SQLite plugin is not built (SWITCHBOARD_SQLITE=OFF or sqlite3 not found)");
#endif
}

TEST_CASE("global() is one registry for the whole process") {
    CHECK(&plugin_registry::global() == &plugin_registry::global());
}
