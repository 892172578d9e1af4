# SPDX-License-Identifier: MIT
# Build-time script: lists a Catch2 v2 binary's test cases and writes one ctest test per case.
#
# Catch2's own catch_discover_tests flattens multi-valued properties (LABELS a;b becomes two
# arguments), so this one writes every property as a bracket argument. Inputs (-D):
#   EXE, OUT, PREFIX (joined to each case name with a space), WORKDIR, LABELS (comma-separated), ENV_NAME/ENV_VALUE (optional), TIMEOUT, RUN_SERIAL (ON/OFF)
execute_process(COMMAND "${EXE}" --list-test-names-only
                OUTPUT_VARIABLE listing RESULT_VARIABLE rc WORKING_DIRECTORY "${WORKDIR}")
if(NOT rc EQUAL 0 AND NOT rc GREATER 0)
  message(FATAL_ERROR "cannot list the tests of ${EXE}: ${rc}")
endif()
string(REPLACE "," ";" labels "${LABELS}")
string(REPLACE ";" "\\;" labels_arg "${labels}")
# A ';' inside a case name must survive the split into a CMake list.
string(REPLACE ";" "<semicolon>" listing "${listing}")
string(REPLACE "\n" ";" names "${listing}")
set(script "")
foreach(name IN LISTS names)
  if(name STREQUAL "")
    continue()
  endif()
  string(REPLACE "<semicolon>" ";" name "${name}")
  # Catch reads ',' '[' ']' in a test spec as syntax: escape them to select exactly this case.
  string(REGEX REPLACE "([],[])" "\\\\\\1" spec "${name}")
  string(APPEND script "add_test([==[${PREFIX} ${name}]==] [==[${EXE}]==] [==[${spec}]==])\n")
  string(APPEND script "set_tests_properties([==[${PREFIX} ${name}]==] PROPERTIES WORKING_DIRECTORY [==[${WORKDIR}]==] "
                       "LABELS [==[${labels}]==] TIMEOUT ${TIMEOUT}")
  if(ENV_NAME)
    string(APPEND script " ENVIRONMENT [==[${ENV_NAME}=${ENV_VALUE}]==]")
  endif()
  if(RUN_SERIAL)
    string(APPEND script " RUN_SERIAL ON")
  endif()
  string(APPEND script ")\n")
endforeach()
file(WRITE "${OUT}" "${script}")
