#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Starts a QEMU/KVM guest whose virtio-net NIC is a dpswitch vhost-user port.
# Prints the QEMU command line first, then runs it (--dry-run: print only).
#
#   scripts/launch-vm.sh --socket /run/dpswitch/vm1.sock --mac 52:54:00:00:00:01 \
#       --image vm1.qcow2                      # for a dpdkvhostuserclient port
#   scripts/launch-vm.sh --socket run/vm2.sock --mode client --queues 2 --dry-run
#
# --mode must match the port's type in the dpswitch config:
#   server  for type = dpdkvhostuserclient (recommended): QEMU creates the
#           socket (chardev server=on) and waits until dpswitch connects;
#           dpswitch can restart without the VM restarting.
#   client  for type = dpdkvhostuser: dpswitch creates the socket, so it must
#           be running first; restarting dpswitch means restarting the VM.
# vhost-user needs the guest RAM in shared memory that dpswitch can map: it is
# a memory-backend-file on hugetlbfs with share=on (reserve enough pages with
# scripts/hugepages.sh). Arguments after -- go to QEMU unchanged.
set -euo pipefail

usage() {
  cat <<EOF
usage: $0 --socket PATH [options] [-- QEMU-ARGS...]
  --socket PATH     the port's vhost-user socket (the port's socket = in the config)
  --mode MODE       server (port type dpdkvhostuserclient, default) or
                    client (port type dpdkvhostuser)
  --queues N        queue pairs, as the port's queues = (default 1)
  --mac MAC         guest MAC (default 52:54:00:00:00:01)
  --mtu N           advertise this MTU to the guest (virtio host_mtu; the
                    port needs the same mtu =)
  --mem SIZE        guest RAM, e.g. 2G or 1024M (default 2G)
  --cpus N          vCPUs (default 2)
  --image DISK      qcow2 boot disk
  --hugepages DIR   hugetlbfs mount for the guest RAM (default /dev/hugepages)
  --name NAME       VM name (default: the socket's file name)
  --dry-run         print the command line only
EOF
}

die() {
  echo "launch-vm: $*" >&2
  exit 2
}

socket=""
mode=server
queues=1
mac=52:54:00:00:00:01
mtu=""
mem=2G
cpus=2
image=""
hugedir=/dev/hugepages
name=""
dry_run=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --socket | --mode | --queues | --mac | --mtu | --mem | --cpus | --image | --hugepages | --name)
      [ $# -ge 2 ] || die "$1 needs a value"
      case "$1" in
        --socket) socket=$2 ;;
        --mode) mode=$2 ;;
        --queues) queues=$2 ;;
        --mac) mac=$2 ;;
        --mtu) mtu=$2 ;;
        --mem) mem=$2 ;;
        --cpus) cpus=$2 ;;
        --image) image=$2 ;;
        --hugepages) hugedir=$2 ;;
        --name) name=$2 ;;
      esac
      shift 2
      ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

# --- checks --------------------------------------------------------------------
[ -n "$socket" ] || { usage >&2; die "--socket PATH is required"; }
[ "$mode" = server ] || [ "$mode" = client ] || die "--mode must be server or client, not '$mode'"
in_range() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
in_range "$queues" 1 32 || die "--queues must be 1-32 (as the port's queues =), not '$queues'"
[[ "$mac" =~ ^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$ ]] || die "--mac must look like 52:54:00:00:00:01"
[ -z "$mtu" ] || in_range "$mtu" 68 9710 || die "--mtu must be 68-9710, not '$mtu'"
[[ "$mem" =~ ^([0-9]+)([MG])$ ]] || die "--mem must look like 2G or 1024M, not '$mem'"
mem_mb=${BASH_REMATCH[1]}
[ "${BASH_REMATCH[2]}" = M ] || mem_mb=$((mem_mb * 1024))
in_range "$cpus" 1 1024 || die "--cpus must be 1-1024, not '$cpus'"
name=${name:-$(basename "$socket" .sock)}
for path in "$socket" "$image" "$hugedir"; do
  [[ "$path" != *,* ]] || die "'$path': QEMU options cannot take paths with commas"
done

# The guest RAM must fit in whole pages of the hugetlbfs mount.
page_size=""
while read -r _ mnt fstype opts _; do
  if [ "$mnt" = "$hugedir" ] && [ "$fstype" = hugetlbfs ]; then
    page_size=$(tr ',' '\n' <<<"$opts" | sed -n 's/^pagesize=//p')
  fi
done </proc/mounts
if [ -z "$page_size" ]; then
  echo "launch-vm: warning: $hugedir is not a hugetlbfs mount (run scripts/hugepages.sh)" >&2
elif [ "$page_size" = 1G ] || [ "$page_size" = 1024M ]; then
  [ $((mem_mb % 1024)) -eq 0 ] || die "--mem $mem is not a whole number of the 1G pages of $hugedir"
fi

# --- the command line ----------------------------------------------------------
qemu="qemu-system-x86_64"
cmd=("$qemu" -name "$name")
if [ -e /dev/kvm ]; then
  cmd+=(-enable-kvm -cpu host)
else
  echo "launch-vm: warning: no /dev/kvm, emulating the CPU (slow)" >&2
  cmd+=(-cpu max)
fi
cmd+=(-smp "$cpus" -m "$mem")
# Guest RAM shared with dpswitch (share=on), on hugepages, allocated up front.
cmd+=(-object "memory-backend-file,id=mem0,size=$mem,mem-path=$hugedir,share=on,prealloc=on")
cmd+=(-numa "node,memdev=mem0")
if [ "$mode" = server ]; then
  cmd+=(-chardev "socket,id=char0,path=$socket,server=on")
else
  cmd+=(-chardev "socket,id=char0,path=$socket")
fi
cmd+=(-netdev "type=vhost-user,id=net0,chardev=char0,vhostforce=on,queues=$queues")
dev="virtio-net-pci,netdev=net0,mac=$mac,mrg_rxbuf=on"
# One MSI-X vector per virtqueue (2 per pair), one for config, one for control.
[ "$queues" -le 1 ] || dev+=",mq=on,vectors=$((2 * queues + 2))"
[ -z "$mtu" ] || dev+=",host_mtu=$mtu"
cmd+=(-device "$dev")
if [ -n "$image" ]; then
  cmd+=(-drive "file=$image,if=virtio,format=qcow2")
fi
# Serial console on this terminal (Ctrl-A X quits QEMU).
cmd+=(-nographic)
cmd+=("${extra[@]}")

# Printed one option per line, quoted for the shell only where needed.
quote() {
  if [[ "$1" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then printf '%s' "$1"; else printf '%q' "$1"; fi
}
line=$(quote "${cmd[0]}")
for arg in "${cmd[@]:1}"; do
  if [[ "$arg" == -* ]]; then
    line+=$' \\\n    '
  else
    line+=' '
  fi
  line+=$(quote "$arg")
done
echo "$line"

[ "$dry_run" -eq 0 ] || exit 0

# --- run -----------------------------------------------------------------------
if ! command -v "$qemu" >/dev/null; then
  echo "launch-vm: $qemu not found; install it with: apt-get install qemu-system-x86" >&2
  exit 127
fi
[ -n "$image" ] || echo "launch-vm: warning: no --image, the guest has no disk to boot" >&2
[ -z "$image" ] || [ -r "$image" ] || die "cannot read image '$image'"
if [ "$mode" = server ]; then
  mkdir -p "$(dirname "$socket")"
  echo "launch-vm: QEMU waits for dpswitch to connect to $socket before the guest boots" >&2
else
  [ -S "$socket" ] ||
    die "$socket does not exist: start dpswitch first (its dpdkvhostuser port creates it)"
fi
exec "${cmd[@]}"
