#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# dpswitch, OVS-DPDK and the dpdk-testpmd ceiling in one run of the team
# benchmark harness (../shared/bench, or $BENCH_DIR): same pcaps, same rules,
# one PMD core each. Arguments go to the harness's run_matrix.py, e.g.
#   scripts/bench/run_matrix.sh --rules R2 --flows 1000 --reps 1 --tag quick
# Results land in the harness's results/ directory (a .md table and a .json).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench_dir=${BENCH_DIR:-$root/../shared/bench}
if [ ! -f "$bench_dir/run_matrix.py" ]; then
  echo "benchmark harness not found at $bench_dir (set BENCH_DIR)" >&2
  exit 2
fi
# Packages, hugepages and the build, as for the tests; 2 GiB more pages for
# the large pcaps.
DPSWITCH_HUGEPAGES=${DPSWITCH_HUGEPAGES:-2048} "$root/scripts/setup.sh"
if [ ! -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y openvswitch-switch-dpdk
fi
export BENCH_EXEC_ADAPTER="$here/dpswitch_adapter.py"
export DPSWITCH_BUILD=${DPSWITCH_BUILD:-$root/build}
cd "$bench_dir"
exec /usr/bin/python3 run_matrix.py --adapters exec,ovs-dpdk "$@"
