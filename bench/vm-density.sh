#!/usr/bin/env bash
# N idle detached micro-VMs (`sandbox run -d --vm busybox sleep`, 128 MiB each) and N plain qemu peers (same kernel,
# 128 MiB, a busybox initramfs that sleeps): host memory per VM as the PSS of every process kept alive (the detached
# owners + their qemus; the peers' qemus), summed once over all N. With KSM=1, then the same after the host's KSM
# merged what it could (qemu marks guest RAM mergeable by default): KSM is host-wide, so this turns it on only for the
# measurement (pages_to_scan raised to finish in minutes) and restores the previous settings after, unmerging.
#   usage: [KSM=1] [KSM_WAIT=SECONDS] bench/vm-density.sh [N]
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

n=${1:-20}
[ -n "${SKIP_BUILD:-}" ] || "$REPO_ROOT/scripts/build.sh"
"$REPO_ROOT/scripts/start-libvirtd.sh"
work=$(mktemp -d /var/tmp/sandbox-density.XXXXXX)
export SANDBOX_ROOT="$work/store"
export SANDBOX_VM_POOL=off
sandbox="$OUT/bin/sandbox"
kernel=${SANDBOX_KERNEL:-$OUT/kernel/current/vmlinux}
ksm=/sys/kernel/mm/ksm
ksm_run=$(cat $ksm/run) ksm_pages=$(cat $ksm/pages_to_scan) ksm_sleep=$(cat $ksm/sleep_millisecs)
ids=() qpids=()
cleanup() {
  if [ -n "${KSM:-}" ]; then
    echo 2 > $ksm/run 2>/dev/null || true      # unmerge what we merged
    echo "$ksm_pages" > $ksm/pages_to_scan; echo "$ksm_sleep" > $ksm/sleep_millisecs; echo "$ksm_run" > $ksm/run
  fi
  for id in "${ids[@]}"; do "$sandbox" rm -f "$id" >/dev/null 2>&1 || true; done
  for p in "${qpids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/ir/bin" "$work/ir/proc" "$work/ir/dev"
cp /bin/busybox "$work/ir/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\nexec /bin/busybox sleep 100000\n' > "$work/ir/init"
chmod 755 "$work/ir/init"
(cd "$work/ir" && find . | cpio -o -H newc --quiet > "$work/ir.cpio")
khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)

"$sandbox" pull busybox >/dev/null 2>&1 || true
t0=$(date +%s)
for i in $(seq "$n"); do
  "$sandbox" run -d --vm busybox sleep 100000 > "$work/id.$i" &
done
wait
for i in $(seq "$n"); do ids+=("$(cat "$work/id.$i")"); done
t1=$(date +%s)
for i in $(seq "$n"); do
  qemu-system-x86_64 -M microvm,x-option-roms=off,isa-serial=on,rtc=on -accel tcg -cpu max -m 128 -smp 1 -nodefaults \
    -no-user-config -nographic -serial null -kernel "$kernel" -initrd "$work/ir.cpio" \
    -append "console=ttyS0 panic=-1 quiet tsc_early_khz=$khz" </dev/null >/dev/null 2>&1 &
  qpids+=($!)
done
sleep "${SETTLE:-60}"   # the peers boot meanwhile (no ready mark: their serial is off); the VMs settle

pss() { local sum=0 p; for p in "$@"; do sum=$((sum + $(awk '/^Pss:/ {s += $2} END {print s+0}' /proc/$p/smaps_rollup 2>/dev/null || echo 0))); done; echo $sum; }
measure() {
  local owners=() vms=() id
  for id in "${ids[@]}"; do
    owners+=($(pgrep -f -- "__owner.*$id" | head -1))
    vms+=($(cat "/run/libvirt/qemu/sandbox-$id.pid"))
  done
  local o q p
  o=$(pss "${owners[@]}") q=$(pss "${vms[@]}") p=$(pss "${qpids[@]}")
  awk -v l="$1" -v n="$n" -v o="$o" -v q="$q" -v p="$p" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
    printf "| %s | %d | %.1f | %.1f | **%.1f** | %.1f | %.2f× | %s |\n", l, n, o/n/1024, q/n/1024, (o+q)/n/1024, p/n/1024, (o+q)/p, load }'
}
echo
echo "$n idle 128 MiB VMs started at once in $((t1 - t0)) s; MiB of PSS per VM"
echo
echo "| KSM | N | owner process | qemu | **sandbox --vm, host per VM** | plain qemu per VM | ratio | load average |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
measure "off (host's run=$ksm_run)"
if [ -n "${KSM:-}" ]; then
  echo 1000 > $ksm/pages_to_scan; echo 20 > $ksm/sleep_millisecs; echo 1 > $ksm/run
  sleep "${KSM_WAIT:-120}"
  measure "on, after ${KSM_WAIT:-120} s (pages_sharing $(cat $ksm/pages_sharing), pages_shared $(cat $ksm/pages_shared))"
fi
