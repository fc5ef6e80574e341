#!/usr/bin/env bash
# Where an idle micro-VM's host memory goes: qemu's PSS broken down by mapping (guest RAM, TCG translation buffer,
# qemu heap and other anonymous memory, qemu's binary and libraries), beside plain qemu with the same kernel and a
# busybox initramfs (the `sandbox bench` peer), and the detached owner process. One idle `sleep` each, measured after
# SETTLE seconds (default 5).
#
# Each further argument is a variant: environment assignments for the sandbox CLI (one lever each, so each is measured
# alone, in the same run, against the same peer), e.g.
#   bench/vm-footprint.sh 10 "" "SANDBOX_VM_TB_CACHE_MIB=16" "SANDBOX_VM_FREE_PAGE_REPORTING=on"
# ("" is the build's defaults). Per variant it also times RUNS (default 2) whole `run --rm --vm busybox true` runs,
# the cost side of a lever (a smaller translation cache is flushed and refilled).
#   usage: bench/vm-footprint.sh [SETTLE [VARIANT...]]
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

settle=${1:-5}
shift || true
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=("")
runs=${RUNS:-2}
[ -n "${SKIP_BUILD:-}" ] || "$REPO_ROOT/scripts/build.sh"
"$REPO_ROOT/scripts/start-libvirtd.sh"
work=$(mktemp -d /var/tmp/sandbox-footprint.XXXXXX)
export SANDBOX_ROOT="$work/store"
export SANDBOX_VM_POOL=off
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

"$sandbox" pull busybox >/dev/null 2>&1 || true
for v in "${variants[@]}"; do
  # The cost side: whole runs of `true` (CLI start to exit), this variant's guests only.
  times=""
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N)
    env $v "$sandbox" run --rm --vm busybox true
    times="$times $(( ($(date +%s%N) - t0) / 1000000 ))"
  done
  id=$(env $v "$sandbox" run -d --vm busybox sleep 100000)
  vm_pid=$(cat "/run/libvirt/qemu/sandbox-$id.pid")
  sleep "$settle"
  owner_pid=$(pgrep -f -- "__owner.*$id" | head -1 || true)
  echo "${v:-defaults}|$vm_pid|${owner_pid:-0}|$times" >> "$work/rows"
  cp "/proc/$vm_pid/smaps" "$work/smaps-$vm_pid"
  [ -n "${owner_pid:-}" ] && cp "/proc/$owner_pid/smaps_rollup" "$work/owner-$vm_pid" || true
  "$sandbox" rm -f "$id" >/dev/null
  id=""
done
cp "/proc/$qpid/smaps" "$work/smaps-peer"

python3 - "$work" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import re, sys
work, load = sys.argv[1], sys.argv[2]

def breakdown(path):
    cats, rows, cur, guest_ram_seen = {}, [], None, False
    for line in open(path):
        m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
        if m:
            cur = {"size": (int(m.group(2), 16) - int(m.group(1), 16)) >> 10, "perms": m.group(3), "path": m.group(4).strip(), "pss": 0}
            rows.append(cur)
        elif line.startswith("Pss:") and cur is not None:
            cur["pss"] = int(line.split()[1])
    # Guest RAM: the one anonymous mapping of exactly the guest's size (128 MiB; libvirt's qemu names it
    # memory-backend); the TCG code buffer: qemu maps it rwx (tb-size, less a guard page), the only executable anonymous one.
    for r in rows:
        p = r["path"]
        if p == "" and r["size"] == 128 * 1024 and not guest_ram_seen:
            c, guest_ram_seen = "guest RAM (touched pages)", True
        elif p == "" and "x" in r["perms"] and r["size"] >= 1024:
            c = "TCG translation buffer"
        elif p in ("[heap]",) or (p == "" and r["size"] < 128 * 1024) or p.startswith("[anon"):
            c = "qemu heap, thread stacks, other anonymous"
        elif p.startswith("/"):
            c = "qemu binary and libraries (file-backed)"
        else:
            c = "other (stack, vdso)"
        cats[c] = cats.get(c, 0) + r["pss"]
    return cats

def rollup(path):
    try:
        return sum(int(l.split()[1]) for l in open(path) if l.startswith("Pss:"))
    except FileNotFoundError:
        return None

cols = []
for line in open(f"{work}/rows"):
    name, vm, owner, times = line.rstrip("\n").split("|")
    cols.append((name, breakdown(f"{work}/smaps-{vm}"), rollup(f"{work}/owner-{vm}"), times.split()))
peer = breakdown(f"{work}/smaps-peer")
keys = sorted(set(peer).union(*[set(c[1]) for c in cols]), key=lambda k: -peer.get(k, 0) - sum(c[1].get(k, 0) for c in cols))
print(f"\nIdle VM footprint by mapping, PSS in MiB (load average {load})\n")
print("| mapping | " + " | ".join(f"sandbox --vm, {c[0]}" for c in cols) + " | plain qemu, same kernel |")
print("|---|" + "---:|" * (len(cols) + 1))
for k in keys:
    print(f"| {k} | " + " | ".join(f"{c[1].get(k, 0) / 1024:.1f}" for c in cols) + f" | {peer.get(k, 0) / 1024:.1f} |")
print("| **qemu total** | " + " | ".join(f"**{sum(c[1].values()) / 1024:.1f}**" for c in cols) + f" | **{sum(peer.values()) / 1024:.1f}** |")
print("| the detached run's owner process | " + " | ".join(f"{c[2] / 1024:.1f}" if c[2] is not None else "–" for c in cols) + " | – |")
tot = [sum(c[1].values()) + (c[2] or 0) for c in cols]
print("| **host PSS (owner + qemu)** | " + " | ".join(f"**{t / 1024:.1f}**" for t in tot) + f" | **{sum(peer.values()) / 1024:.1f}** |")
print("| ratio to plain qemu | " + " | ".join(f"{t / sum(peer.values()):.2f}×" for t in tot) + " | 1 |")
print("| `run --rm --vm busybox true`, ms | " + " | ".join(", ".join(c[3]) for c in cols) + " | – |")
PY
