#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Sets up the machine (packages, hugepages, build) and starts dpswitch on
# config/dpswitch.conf. Extra arguments go to dpswitch (e.g. -i for the
# console, --config FILE, --datapath.pmd-cores 1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p run
exec build/src/dpswitch "$@"
