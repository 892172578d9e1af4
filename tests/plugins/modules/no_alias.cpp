// SPDX-License-Identifier: MIT
// switchboard-noalias.so: a module that exports no descriptor; the loader must say which symbol is missing.

namespace switchboard_test_no_alias {

// Hidden like everything else in a module: the file exports nothing at all.
int unused() { return 0; }

}  // namespace switchboard_test_no_alias
