#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Reserves hugepages and mounts hugetlbfs for dpswitch (DPDK) and for the
# guest memory of vhost-user VMs. Idempotent: it only ever raises the number
# of reserved pages (to at least --pages, never lowering it under a running
# process) and mounts only when DIR is not already a hugetlbfs of that page
# size. Run as root. Exits 1 when fewer pages than asked could be reserved.
#
#   scripts/hugepages.sh                          # 512 x 2 MB (1 GiB), /dev/hugepages
#   scripts/hugepages.sh --pages 2048             # 4 GiB of 2 MB pages (dpswitch + VMs)
#   scripts/hugepages.sh --size 1G --pages 8 --node 0 --mount /dev/hugepages1G
#
# 1 GiB pages need contiguous physical memory, so reserving them at run time
# often fails once the machine has been up a while; reserve them at boot on
# the kernel command line instead (default_hugepagesz=1G hugepagesz=1G
# hugepages=N), then run this script to mount them.
set -euo pipefail

usage() {
  cat <<EOF
usage: $0 [--size 2M|1G] [--pages N] [--node N] [--mount DIR]
  --size 2M|1G   page size (default 2M)
  --pages N      pages to have reserved at least (default: 512 of 2M, 4 of 1G)
  --node N       reserve on NUMA node N only (default: spread over all nodes)
  --mount DIR    hugetlbfs mount point (default: /dev/hugepages for 2M,
                 /dev/hugepages1G for 1G)
EOF
}

die() {
  echo "hugepages: $*" >&2
  exit 2
}

size=2M
pages=""
node=""
mount_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) [ $# -ge 2 ] || die "--size needs a value"; size=$2; shift 2 ;;
    --pages) [ $# -ge 2 ] || die "--pages needs a value"; pages=$2; shift 2 ;;
    --node) [ $# -ge 2 ] || die "--node needs a value"; node=$2; shift 2 ;;
    --mount) [ $# -ge 2 ] || die "--mount needs a value"; mount_dir=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

case "$size" in
  2M | 2m | 2048k | 2048kB) size=2M; kb=2048; default_pages=512; default_mount=/dev/hugepages ;;
  1G | 1g | 1024M | 1048576kB) size=1G; kb=1048576; default_pages=4; default_mount=/dev/hugepages1G ;;
  *) die "--size must be 2M or 1G, not '$size'" ;;
esac
pages=${pages:-$default_pages}
mount_dir=${mount_dir:-$default_mount}
[[ "$pages" =~ ^[0-9]+$ ]] || die "--pages must be a number, not '$pages'"
[ -z "$node" ] || [[ "$node" =~ ^[0-9]+$ ]] || die "--node must be a number, not '$node'"

[ "$(id -u)" -eq 0 ] || die "must run as root (sudo $0 ...)"

# --- reserve -----------------------------------------------------------------
if [ -n "$node" ]; then
  [ -d "/sys/devices/system/node/node$node" ] || die "NUMA node $node does not exist"
  sysdir=/sys/devices/system/node/node$node/hugepages/hugepages-${kb}kB
  where="on node $node"
else
  sysdir=/sys/kernel/mm/hugepages/hugepages-${kb}kB
  where="(all nodes)"
fi
if [ ! -d "$sysdir" ]; then
  if [ "$size" = 1G ]; then
    die "this kernel/CPU has no 1G hugepages ($sysdir missing; the CPU needs the pdpe1gb flag)"
  fi
  die "no $size hugepages on this kernel ($sysdir missing)"
fi
nr_file=$sysdir/nr_hugepages

had=$(cat "$nr_file")
if [ "$had" -ge "$pages" ]; then
  echo "hugepages: $had x $size pages reserved $where (wanted $pages): nothing to do"
else
  # 1G pages need 1 GiB of contiguous free memory each: compact first.
  if [ "$size" = 1G ] && [ -w /proc/sys/vm/compact_memory ]; then
    echo 1 2>/dev/null >/proc/sys/vm/compact_memory || true
  fi
  if ! echo "$pages" 2>/dev/null >"$nr_file"; then
    echo "hugepages: warning: cannot write $nr_file (read-only /sys, e.g. in a container?)" >&2
  fi
  now=$(cat "$nr_file")
  echo "hugepages: $size pages $where: had $had, now $now (wanted $pages)"
fi
now=$(cat "$nr_file")
short=0
if [ "$now" -lt "$pages" ]; then
  short=1
  echo "hugepages: warning: only $now of $pages $size pages could be reserved $where" >&2
  if [ "$size" = 1G ]; then
    cat >&2 <<EOF
hugepages: 1G pages usually have to be reserved at boot, before memory
  fragments. Add to the kernel command line (/etc/default/grub
  GRUB_CMDLINE_LINUX, then update-grub and reboot):
      default_hugepagesz=1G hugepagesz=1G hugepages=$pages
  then run this script again to mount them.
EOF
  else
    echo "hugepages: free memory is short or fragmented; try fewer pages, or hugepages=$pages on the kernel command line" >&2
  fi
fi

# --- mount -------------------------------------------------------------------
# /proc/mounts shows the page size as "pagesize=2M", "pagesize=1024M" (1G).
mounted_size=""
while read -r _ mnt fstype opts _; do
  if [ "$mnt" = "$mount_dir" ] && [ "$fstype" = hugetlbfs ]; then
    mounted_size=$(tr ',' '\n' <<<"$opts" | sed -n 's/^pagesize=//p')
    case "$mounted_size" in
      2M | 2048K) mounted_size=2M ;;
      1G | 1024M | 1048576K) mounted_size=1G ;;
      "") mounted_size=unknown ;;
    esac
  fi
done </proc/mounts

if [ -z "$mounted_size" ]; then
  mkdir -p "$mount_dir"
  mount -t hugetlbfs -o "pagesize=$size" nodev "$mount_dir"
  echo "hugepages: mounted hugetlbfs (pagesize=$size) on $mount_dir"
elif [ "$mounted_size" = "$size" ]; then
  echo "hugepages: hugetlbfs (pagesize=$size) already mounted on $mount_dir"
else
  die "$mount_dir is already a hugetlbfs with pagesize=$mounted_size, not $size: use --mount DIR"
fi

echo "hugepages: use --huge-dir $mount_dir in [dpdk] eal-args, and --hugepages $mount_dir for scripts/launch-vm.sh"
exit "$short"
