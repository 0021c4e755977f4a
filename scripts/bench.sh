#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# One-PMD throughput of dpswitch next to dpdk-testpmd io forwarding (the I/O
# ceiling), on looping pcap sources, for 1 to 1M flows. Not part of the test
# suite. Reserves 2 GiB more hugepages for the 1M-flow pcaps.
set -euo pipefail
cd "$(dirname "$0")/.."
DPSWITCH_HUGEPAGES=${DPSWITCH_HUGEPAGES:-2048} scripts/setup.sh
exec /usr/bin/python3 tests/bench/bench_switch.py "$@"
