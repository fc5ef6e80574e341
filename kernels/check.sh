#!/usr/bin/env bash
# Boots the built guest kernel under qemu (-M microvm, TCG) with a tiny busybox initramfs and checks:
#   the boot marker on ttyS0, `nproc` with -smp 2, the TSC as clocksource with 2 vCPUs, a virtio-serial port (named, and writable to the host),
#   a virtio-blk disk holding an EROFS image that the guest mounts and reads, an overlay over it with a tmpfs upper
#   (with a whiteout), and a second disk with ext4 (the fallback format).
# Usage: kernels/check.sh [--image EROFS_IMAGE_WITH_/hello]   (default: one made here with mkfs.erofs)
# Kernel: $SANDBOX_KERNEL, else <cache>/current/vmlinux (built by kernels/build.sh when missing).
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

IMAGE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --image) IMAGE="$(readlink -f "$2")"; shift 2 ;;
    *) die "kernels/check.sh: unknown argument $1" ;;
  esac
done

CACHE="${SANDBOX_KERNEL_CACHE:-$OUT/kernel}"
KERNEL="${SANDBOX_KERNEL:-$CACHE/current/vmlinux}"
if [ ! -f "$KERNEL" ] && [ -z "${SANDBOX_KERNEL:-}" ]; then
  "$REPO_ROOT/kernels/build.sh"
fi
[ -f "$KERNEL" ] || die "no guest kernel at $KERNEL"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (package qemu-system-x86)"
[ -x /bin/busybox ] || die "/bin/busybox missing (package busybox-static)"

WORK=$(mktemp -d /tmp/sandbox-kernel-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# --- the tiny initramfs: static busybox and an /init that reports what the guest sees, then reboots
mkdir -p "$WORK/initramfs/bin" "$WORK/initramfs/proc" "$WORK/initramfs/sys" "$WORK/initramfs/dev" "$WORK/initramfs/mnt"
cp /bin/busybox "$WORK/initramfs/bin/busybox"
cat >"$WORK/initramfs/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "SANDBOX-CHECK: booted $(uname -r)"
echo "SANDBOX-CHECK: nproc=$(nproc)"
echo "SANDBOX-CHECK: clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
for p in /sys/class/virtio-ports/*; do
  [ -e "$p/name" ] && echo "SANDBOX-CHECK: vport $(basename "$p") name=$(cat "$p/name")"
done
[ -c /dev/vport0p1 ] && echo "hello over virtio-serial" >/dev/vport0p1
if [ -b /dev/vda ] && mount -t erofs -o ro /dev/vda /mnt; then
  echo "SANDBOX-CHECK: erofs $(cat /mnt/hello)"
  # The VM backend's root: overlay, erofs lower, tmpfs upper (whiteouts need trusted.* xattrs on tmpfs).
  mkdir -p /run && mount -t tmpfs tmpfs /run && mkdir -p /run/upper /run/work /run/root
  if mount -t overlay overlay -o lowerdir=/mnt,upperdir=/run/upper,workdir=/run/work /run/root \
     && echo written >/run/root/new && rm /run/root/hello && [ ! -e /run/root/hello ] && [ -c /run/upper/hello ]; then
    echo "SANDBOX-CHECK: overlay $(cat /run/root/new)"
  fi
  umount /run/root 2>/dev/null; umount /mnt
fi
if [ -b /dev/vdb ] && mount -t ext4 -o ro /dev/vdb /mnt; then
  echo "SANDBOX-CHECK: ext4 $(cat /mnt/hello)"
  umount /mnt
fi
echo "SANDBOX-CHECK: done"
reboot -f
INIT
chmod 755 "$WORK/initramfs/init"
(cd "$WORK/initramfs" && find . | cpio -o -H newc --quiet | gzip -1 >"$WORK/initramfs.cpio.gz")

# --- the EROFS disk
if [ -z "$IMAGE" ]; then
  mkdir -p "$WORK/disk"
  echo "hello from an erofs disk" >"$WORK/disk/hello"
  mkfs.erofs --quiet "$WORK/disk.erofs" "$WORK/disk" >/dev/null
  IMAGE="$WORK/disk.erofs"
fi

# --- an ext4 disk: the fallback root image format
mkdir -p "$WORK/ext4"
echo "hello from an ext4 disk" >"$WORK/ext4/hello"
mkfs.ext4 -q -d "$WORK/ext4" "$WORK/disk.ext4" 4M

TSC_KHZ=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
say "kernel check: booting $KERNEL (microvm, TCG, -smp 2, virtio-serial + virtio-blk)"
START=$(date +%s%N)
set +e
timeout 120 qemu-system-x86_64 \
  -M microvm,x-option-roms=off,isa-serial=on,rtc=on -accel tcg -cpu max -m 128 -smp 2 \
  -kernel "$KERNEL" -initrd "$WORK/initramfs.cpio.gz" \
  -append "console=ttyS0 reboot=t panic=-1 tsc_early_khz=$TSC_KHZ quiet" \
  -nodefaults -no-user-config -nographic -no-reboot -serial stdio \
  -device virtio-serial-device -chardev file,id=host0,path="$WORK/from-guest.txt" \
  -device virtserialport,chardev=host0,name=org.sandbox.check \
  -drive id=disk0,file="$IMAGE",format=raw,if=none,readonly=on -device virtio-blk-device,drive=disk0 \
  -drive id=disk1,file="$WORK/disk.ext4",format=raw,if=none,readonly=on -device virtio-blk-device,drive=disk1 \
  </dev/null >"$WORK/console.txt" 2>&1
rc=$?
set -e
ELAPSED_MS=$(( ($(date +%s%N) - START) / 1000000 ))

failures=()
expect() { grep -qF -- "$1" "$WORK/console.txt" || failures+=("$2"); }
[ $rc -eq 0 ] || failures+=("qemu exited $rc (124 = timed out)")
expect "SANDBOX-CHECK: booted" "no boot marker on ttyS0"
expect "SANDBOX-CHECK: nproc=2" "nproc is not 2 with -smp 2"
expect "SANDBOX-CHECK: clocksource=tsc" "clocksource is not tsc with 2 vCPUs (timers would run at jiffy resolution)"
expect "name=org.sandbox.check" "no virtio-serial port named org.sandbox.check in /sys/class/virtio-ports"
grep -qF "hello over virtio-serial" "$WORK/from-guest.txt" 2>/dev/null || failures+=("nothing reached the host over virtio-serial")
expect "SANDBOX-CHECK: erofs hello from an erofs disk" "the EROFS disk did not mount or read in the guest"
expect "SANDBOX-CHECK: overlay written" "overlay (erofs lower, tmpfs upper, a whiteout) failed in the guest"
expect "SANDBOX-CHECK: ext4 hello from an ext4 disk" "the ext4 disk did not mount or read in the guest"
expect "SANDBOX-CHECK: done" "init did not finish"

if [ ${#failures[@]} -gt 0 ]; then
  echo "--- guest console" >&2
  tail -n 40 "$WORK/console.txt" >&2
  printf 'kernel check FAILED: %s\n' "${failures[@]}" >&2
  exit 1
fi
grep -F "SANDBOX-CHECK:" "$WORK/console.txt" | sed 's/^/  /' >&2
say "kernel check passed in ${ELAPSED_MS} ms"
