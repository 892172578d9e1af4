// SPDX-License-Identifier: MIT
// Value types: names, and the out-of-line error paths of parameter conversion.
#include <switchboard/error.hpp>
#include <switchboard/value.hpp>

#include <string>

namespace switchboard {

std::string_view to_string(value_type t) noexcept {
    switch (t) {
        case value_type::null: return "null";
        case value_type::boolean: return "bool";
        case value_type::int64: return "int64";
        case value_type::float64: return "double";
        case value_type::text: return "text";
        case value_type::blob: return "blob";
    }
    return "unknown";
}

namespace detail {
void throw_unsigned_out_of_range(unsigned long long v) {
    throw_usage("parameter value " + std::to_string(v) +
                " does not fit a signed 64-bit integer, the widest integer every backend stores");
}
}  // namespace detail

}  // namespace switchboard
