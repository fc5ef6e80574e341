#!/usr/bin/env bash
# virtio-net's own cost to the guest's boot, without a second kernel build: the same kernel and initramfs booted by
# plain qemu (microvm, TCG, as the micro-VM backend runs them) with and without one virtio-net device (a user-mode
# netdev: nothing is made on the host), alternating, RUNS times each. The kernel command line adds printk.time=1,
# initcall_debug and ignore_loglevel, so the console shows when /init starts and how long each device probe took:
# the NIC's cost is the probe of its virtio-mmio transport plus virtio_net's probe of the device.
# Usage: bench/virtio-net-boot.sh [RUNS]    (prints a table; SANDBOX_BENCH_KEEP=1 keeps the consoles' temp dir)
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"
runs=${1:-5}
kernel=${SANDBOX_KERNEL:-$OUT/kernel/current/vmlinux}
initramfs=${SANDBOX_INITRAMFS:-$OUT/bin/sandbox-initramfs.cpio}
[ -f "$kernel" ] && [ -f "$initramfs" ] || die "kernel or initramfs missing (kernels/build.sh, scripts/build.sh)"
khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
work=$(mktemp -d /tmp/sandbox-bench-vnet.XXXXXX)
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$runs"); do
  for mode in none nic; do
    extra=(); [ $mode = nic ] && extra=(-netdev user,id=n0 -device virtio-net-device,netdev=n0)
    log="$work/$mode-$r.log"
    qemu-system-x86_64 -M microvm,acpi=off -accel tcg -cpu max -m 128 -smp 1 -nodefaults -no-user-config -nographic -no-reboot \
      -kernel "$kernel" -initrd "$initramfs" \
      -append "console=ttyS0 reboot=t panic=-1 printk.time=1 initcall_debug ignore_loglevel tsc_early_khz=$khz" \
      -serial file:"$log" "${extra[@]}" >/dev/null 2>&1 &
    q=$!
    for _ in $(seq 600); do grep -q "Run /init" "$log" 2>/dev/null && break; sleep 0.1; done
    kill $q; wait $q 2>/dev/null || true
  done
done
python3 - "$work" "$runs" <<'PY'
import re, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
def parse(path):
    text = open(path, errors="replace").read()
    init = float(re.search(r"\[\s*([\d.]+)\] Run /init", text).group(1)) * 1000
    probes = {m.group(1): int(m.group(2)) / 1000 for m in re.finditer(r"probe of (\S+) returned \d+ after (\d+) usecs", text)}
    return init, probes.get("virtio-mmio.0", 0.0), probes.get("virtio0", 0.0)
rows = {m: [parse(f"{work}/{m}-{r}.log") for r in range(1, runs + 1)] for m in ("none", "nic")}
print("| guest | /init reached (ms): median, runs | NIC transport probe (ms) | virtio_net probe (ms) |")
print("|---|---|---|---|")
for m, label in (("none", "no NIC"), ("nic", "one virtio-net NIC")):
    xs = rows[m]
    cell = lambda i: f"{statistics.median(x[i] for x in xs):.1f} (min {min(x[i] for x in xs):.1f})" if m == "nic" else "—"
    print(f"| {label} | {statistics.median(x[0] for x in xs):.0f}: {' '.join(f'{x[0]:.0f}' for x in xs)} | {cell(1)} | {cell(2)} |")
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${SANDBOX_BENCH_KEEP:-}" ]; then echo "consoles in $work"; else rm -rf "$work"; fi
