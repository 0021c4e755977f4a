#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Sets up a Debian machine for dpswitch: installs every package the build,
# the tests and a run need (skipped when all are there), reserves 2 MB
# hugepages (at least 1 GiB) and mounts hugetlbfs if needed, then builds.
# Idempotent; run as root (or with sudo available).
#
#   scripts/setup.sh            # packages + hugepages + build (release)
#   SETUP_SKIP_BUILD=1 scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

PACKAGES=(
  build-essential g++ pkg-config meson ninja-build git
  libdpdk-dev dpdk dpdk-dev libnuma-dev libpcap-dev
  libboost-program-options-dev libspdlog-dev libfmt-dev catch2
  python3 python3-scapy python3-pytest
  procps iproute2 util-linux kmod tmux
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Hugepages: at least 512 x 2 MB (1 GiB), mounted at /dev/hugepages. A
# shortfall is a warning: --no-huge tests and small runs still work.
$SUDO scripts/hugepages.sh --pages "${DPSWITCH_HUGEPAGES:-512}" ||
  echo "setup: warning: hugepages not fully reserved (see above)" >&2

if [ -z "${SETUP_SKIP_BUILD:-}" ]; then
  [ -f build/build.ninja ] || meson setup build --buildtype=release
  ninja -C build
fi
echo "setup: done"
