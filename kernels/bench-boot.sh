#!/usr/bin/env bash
# Measures guest boot time under qemu TCG: our kernel on -M microvm (PVH vmlinux) and, with --stock, Debian's stock
# kernel on -M pc, both with the same tiny busybox initramfs whose /init prints a marker and does `reboot -f`.
# Prints boot-to-marker and total per run, then hyperfine's summary. Usage: kernels/bench-boot.sh [--stock] [--runs N]
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

RUNS=10
STOCK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --stock) STOCK=1; shift ;;
    --runs) RUNS="$2"; shift 2 ;;
    *) die "kernels/bench-boot.sh: unknown argument $1" ;;
  esac
done
KERNEL="${SANDBOX_KERNEL:-${SANDBOX_KERNEL_CACHE:-$OUT/kernel}/current/vmlinux}"
[ -f "$KERNEL" ] || "$REPO_ROOT/kernels/build.sh"
command -v hyperfine >/dev/null || die "hyperfine missing (package hyperfine)"

WORK=$(mktemp -d /tmp/sandbox-boot-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/ir/bin"
cp /bin/busybox "$WORK/ir/bin/busybox"
ln -s busybox "$WORK/ir/bin/sh"
printf '#!/bin/sh\necho SANDBOX-MARKER\n/bin/busybox reboot -f\n' >"$WORK/ir/init"
chmod 755 "$WORK/ir/init"
(cd "$WORK/ir" && find . | cpio -o -H newc --quiet >"$WORK/initrd.cpio")
TSC_KHZ=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
COMMON="-accel tcg -cpu max -nodefaults -no-user-config -nographic -no-reboot -serial stdio -initrd $WORK/initrd.cpio"

cat >"$WORK/microvm.sh" <<RUN
#!/bin/sh
exec qemu-system-x86_64 -M microvm,x-option-roms=off,isa-serial=on,rtc=on -m 128 $COMMON -kernel $KERNEL \
  -append "console=ttyS0 reboot=t panic=-1 tsc_early_khz=$TSC_KHZ quiet" </dev/null
RUN
commands=("$WORK/microvm.sh")

if [ $STOCK -eq 1 ]; then
  pkg=$(apt-cache show linux-image-amd64 | awk '/^Depends/ { print $2; exit }' | tr -d ,)
  say "downloading $pkg (stock kernel, for comparison only)"
  (cd "$WORK" && apt-get download -q "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
  dpkg-deb -x "$WORK"/"$pkg"_*.deb "$WORK/stock"
  STOCK_KERNEL=$(ls "$WORK"/stock/boot/vmlinuz-*)
  cat >"$WORK/stock-pc.sh" <<RUN
#!/bin/sh
exec qemu-system-x86_64 -M pc -m 256 $COMMON -kernel $STOCK_KERNEL \
  -append "console=ttyS0 reboot=t panic=-1 quiet" </dev/null
RUN
  commands+=("$WORK/stock-pc.sh")
fi
chmod +x "$WORK"/*.sh

for c in "${commands[@]}"; do
  say "boot-to-marker / total (ms): $(basename "$c" .sh), $RUNS runs (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  for _ in $(seq "$RUNS"); do
    start=$(date +%s%N); marker=""
    while IFS= read -r line; do
      case "$line" in *SANDBOX-MARKER*) [ -z "$marker" ] && marker=$(( ($(date +%s%N) - start) / 1000000 )) ;; esac
    done < <("$c" 2>&1)
    echo "  ${marker:-no-marker} $(( ($(date +%s%N) - start) / 1000000 ))"
  done
done
hyperfine -N --warmup 1 --runs "$RUNS" "${commands[@]}"
