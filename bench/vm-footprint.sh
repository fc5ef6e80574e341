#!/usr/bin/env bash
# Where an idle micro-VM's host memory goes: qemu's PSS broken down by mapping (guest RAM, TCG translation buffer,
# qemu heap and other anonymous memory, qemu's binary and libraries), beside plain qemu with the same kernel and a
# busybox initramfs (the `sandbox bench` peer), and the detached owner process. One idle `sleep` each, measured after
# SETTLE seconds (default 5).
#   usage: bench/vm-footprint.sh [SETTLE]
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

settle=${1:-5}
"$REPO_ROOT/scripts/build.sh"
"$REPO_ROOT/scripts/start-libvirtd.sh"
work=$(mktemp -d /var/tmp/sandbox-footprint.XXXXXX)
export SANDBOX_ROOT="$work/store"
sandbox="$OUT/bin/sandbox"
kernel=${SANDBOX_KERNEL:-$OUT/kernel/current/vmlinux}
id=""
qpid=""
cleanup() {
  [ -n "$id" ] && "$sandbox" rm -f "$id" >/dev/null 2>&1 || true
  [ -n "$qpid" ] && kill "$qpid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

id=$(SANDBOX_VM_POOL=off "$sandbox" run -d --vm busybox sleep 100000)
domain="sandbox-$id"
vm_pid=$(cat "/run/libvirt/qemu/$domain.pid")

# The peer: plain qemu, same kernel, a busybox initramfs that sleeps.
mkdir -p "$work/ir/bin" "$work/ir/proc" "$work/ir/dev"
cp /bin/busybox "$work/ir/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\nexec /bin/busybox sleep 100000\n' > "$work/ir/init"
chmod 755 "$work/ir/init"
(cd "$work/ir" && find . | cpio -o -H newc --quiet > "$work/ir.cpio")
khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
qemu-system-x86_64 -M microvm,x-option-roms=off,isa-serial=on,rtc=on -accel tcg -cpu max -m 128 -smp 1 -nodefaults \
  -no-user-config -nographic -serial null -kernel "$kernel" -initrd "$work/ir.cpio" \
  -append "console=ttyS0 panic=-1 quiet tsc_early_khz=$khz" </dev/null >/dev/null 2>&1 &
qpid=$!
sleep "$settle"
owner_pid=$(pgrep -f -- "__owner.*$id" | head -1 || true)

python3 - "$vm_pid" "$qpid" "${owner_pid:-0}" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import re, sys
vm, peer, owner, load = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def breakdown(pid):
    cats = {}
    name, size, guest_ram_seen = None, 0, False
    rows = []
    cur = None
    for line in open(f"/proc/{pid}/smaps"):
        m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
        if m:
            cur = {"size": (int(m.group(2), 16) - int(m.group(1), 16)) >> 10, "perms": m.group(3), "path": m.group(4).strip(), "pss": 0}
            rows.append(cur)
        elif line.startswith("Pss:") and cur is not None:
            cur["pss"] = int(line.split()[1])
    # Guest RAM: the one anonymous mapping of exactly the guest's size (128 MiB); the TCG code buffer: qemu maps it
    # rwx (or as two views, rw + rx) and it is the largest other anonymous mapping.
    for r in rows:
        p = r["path"]
        if p == "" and r["size"] == 128 * 1024 and not guest_ram_seen:
            c, guest_ram_seen = "guest RAM (touched pages)", True
        elif p == "" and "x" in r["perms"] and r["size"] >= 16 * 1024:
            c = "TCG translation buffer"
        elif p in ("[heap]",) or (p == "" and r["size"] < 128 * 1024) or p.startswith("[anon"):
            c = "qemu heap, thread stacks, other anonymous"
        elif p.startswith("/"):
            c = "qemu binary and libraries (file-backed)"
        else:
            c = "other (" + p + ")"
        cats[c] = cats.get(c, 0) + r["pss"]
    return cats

v, q = breakdown(vm), breakdown(peer)
keys = sorted(set(v) | set(q), key=lambda k: -max(v.get(k, 0), q.get(k, 0)))
print(f"\nIdle VM footprint by mapping, PSS in MiB (load average {load})\n")
print("| mapping | sandbox --vm (libvirt's qemu) | plain qemu, same kernel |")
print("|---|---:|---:|")
for k in keys:
    print(f"| {k} | {v.get(k, 0) / 1024:.1f} | {q.get(k, 0) / 1024:.1f} |")
print(f"| **qemu total** | **{sum(v.values()) / 1024:.1f}** | **{sum(q.values()) / 1024:.1f}** |")
if owner:
    pss = sum(int(l.split()[1]) for l in open(f"/proc/{owner}/smaps_rollup") if l.startswith("Pss:"))
    print(f"| the detached run's owner process | {pss / 1024:.1f} | – |")
PY
