#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Sets up the machine (packages, hugepages, build) and runs the whole test
# suite: unit tests (Catch2) and integration tests (the real daemon on DPDK
# virtual devices). Ends with the line "N passed, N failed" counting test
# cases; exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1
meson test -C build --num-processes 2 --print-errorlogs
rc=$?
/usr/bin/python3 scripts/summarize_tests.py build/meson-logs/testlog.json
src=$?
[ $rc -eq 0 ] && [ $src -eq 0 ]
