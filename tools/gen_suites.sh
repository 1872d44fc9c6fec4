#!/bin/sh
# Writes build/suites.h: one declaration and one table entry per `Suite *suite_x(void)`
# found in the test files given as arguments.
names=$(grep -ho '^Suite \*suite_[a-z0-9_]*(void)' "$@" | sed 's/^Suite \*\(suite_[a-z0-9_]*\)(void)/\1/')
for n in $names; do echo "Suite *$n(void);"; done
echo "static Suite *(*const SUITES[])(void) = {"
for n in $names; do echo "    $n,"; done
echo "};"
