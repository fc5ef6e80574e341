#!/usr/bin/env bash
# First number for the micro-VM backend: `sandbox run --vm busybox true` beside plain qemu-system-x86_64 booting the
# same kernel, the same initramfs (sandbox-init as /init) and the same EROFS root disk, running the same workload
# (`true`), on the same accelerator (TCG unless SANDBOX_VM_ACCEL=kvm). Plain qemu talks to init through a pipe
# chardev that holds a ready-made Start frame, so it measures qemu + guest alone; the difference is libvirt + our host
# side. Uses hyperfine; results go to stdout and bench/results/vm-vs-qemu.{md,json}.
#   usage: bench/vm-vs-qemu.sh [RUNS]
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

runs=${1:-10}
"$REPO_ROOT/scripts/build.sh"
"$REPO_ROOT/scripts/start-libvirtd.sh"
kernel=${SANDBOX_KERNEL:-$OUT/kernel/current/vmlinux}
initramfs=${SANDBOX_INITRAMFS:-$OUT/bin/sandbox-initramfs.cpio}
[ -f "$kernel" ] || die "no guest kernel at $kernel (run kernels/build.sh)"
command -v hyperfine >/dev/null || die "hyperfine is not installed"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SANDBOX_ROOT="$work/store"
sandbox="$OUT/bin/sandbox"
# Warm the store (busybox image + its EROFS disk) and the KVM probe cache outside the measurement.
"$sandbox" run --vm busybox true
disk=$(find "$SANDBOX_ROOT" -name '*.erofs' -print -quit)
[ -n "$disk" ] || die "no EROFS image found in the store"

khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
cmdline="console=ttyS0 reboot=t panic=-1 quiet tsc_early_khz=$khz"
accel=tcg
[ "${SANDBOX_VM_ACCEL:-}" = kvm ] && accel=kvm

# The Start frame: type 1, u32 LE length, InitSpec JSON.
python3 - "$work/start.bin" <<'PY'
import json, struct, sys
spec = json.dumps({"Mode": "Guest", "Argv": ["true"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "WorkingDir": "/", "User": "0", "Hostname": "bench", "Lower": "/dev/vda"}).encode()
open(sys.argv[1], "wb").write(bytes([1]) + struct.pack("<I", len(spec)) + spec)
PY

cat > "$work/plain-qemu.sh" <<SH
#!/usr/bin/env bash
set -e
d=\$(mktemp -d -p "$work")
mkfifo "\$d/ch.in" "\$d/ch.out"
cat "$work/start.bin" > "\$d/ch.in" &
cat "\$d/ch.out" > /dev/null &
qemu-system-x86_64 -M microvm,acpi=off -accel $accel -cpu max -m 128 -smp 1 -nodefaults -no-user-config -nographic -no-reboot \\
  -kernel "$kernel" -initrd "$initramfs" -append "$cmdline" \\
  -serial file:"\$d/console.log" \\
  -drive file="$disk",if=none,id=root,format=raw,readonly=on -device virtio-blk-device,drive=root \\
  -device virtio-serial-device -chardev pipe,id=ch,path="\$d/ch" -device virtserialport,chardev=ch,name=org.sandbox.init.0 \\
  >/dev/null 2>&1
kill %1 %2 2>/dev/null || true
rm -rf "\$d"
SH
chmod +x "$work/plain-qemu.sh"

mkdir -p "$REPO_ROOT/bench/results"
hyperfine --warmup 1 --runs "$runs" -N \
  --export-markdown "$REPO_ROOT/bench/results/vm-vs-qemu.md" --export-json "$REPO_ROOT/bench/results/vm-vs-qemu.json" \
  -n "sandbox run --vm busybox true" "$sandbox run --vm busybox true" \
  -n "plain qemu (same kernel, initramfs, disk)" "$work/plain-qemu.sh"
"$sandbox" run --vm --timings busybox true
