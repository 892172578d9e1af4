// SPDX-License-Identifier: MIT
// Test helper: runs code that must throw a switchboard::error and returns the error for inspection.
#pragma once

#include <switchboard/error.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>

namespace switchboard::testing {

/// The switchboard::error that f throws (sliced to the root class: check kind(), not the
/// class; use CHECK_THROWS_AS for that). Fails the test if f throws nothing.
template <class F>
error caught(F&& f) {
    try {
        f();
    } catch (const error& e) {
        return e;
    }
    FAIL("expected a switchboard::error");
    throw std::logic_error("unreachable");
}

}  // namespace switchboard::testing
