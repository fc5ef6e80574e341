#!/usr/bin/env bash
# Usage: bench/pool-vs-snapshot.sh [N]   (root; libvirtd up; out/bin built)
# Measures, N times each, on the same image and shape (busybox, 128 MiB, 1 vCPU, TCG here):
#   pool   - `sandbox pool fill busybox` (untimed), then `sandbox run --vm --rm busybox true` served warm;
#   cold   - the same run booted cold (SANDBOX_VM_POOL=off);
#   save / restore - libvirt's managed snapshot of a member paused at init's "ready": `virsh save` of the member's
#            domain, then `virsh restore --paused` of the file (the time a snapshot-based pool would pay instead of
#            a resume), and the save file's size.
# Also the PSS of a paused member's holder and qemu. A measurement script, not product code: it drives virsh.
set -euo pipefail
N=${1:-3}
CLI=${SANDBOX_CLI:-$(cd "$(dirname "$0")/.." && pwd)/out/bin/sandbox}
export SANDBOX_ROOT=${SANDBOX_ROOT:-/var/tmp/sandbox-pool-bench}
URI=${SANDBOX_LIBVIRT_URI:-qemu:///system}
mkdir -p "$SANDBOX_ROOT"
ms() { date +%s%N; }
pss() { awk '/^Pss:/{s+=$2} END{print s+0}' /proc/$1/smaps_rollup 2>/dev/null || echo 0; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$N"); do
  "$CLI" pool fill busybox >/dev/null
  t0=$(ms); "$CLI" run --vm --rm --timings-raw busybox true 2>/tmp/pool-bench.err; t1=$(ms)
  echo "pool run $i: $(( (t1 - t0) / 1000000 )) ms ($(grep -o 'boot=[a-z]*' /tmp/pool-bench.err))"
  t0=$(ms); SANDBOX_VM_POOL=off "$CLI" run --vm --rm --timings-raw busybox true 2>/tmp/pool-bench.err; t1=$(ms)
  echo "cold run $i: $(( (t1 - t0) / 1000000 )) ms ($(grep -o 'boot=[a-z]*' /tmp/pool-bench.err))"
done
id=$("$CLI" pool fill busybox)
holder=$("$CLI" pool ls --format json | sed -n 's/.*"holderPid":\([0-9]*\).*/\1/p' | head -1)
qemu=$(cat "/run/libvirt/qemu/sandbox-$id.pid")
echo "paused member: holder PSS $(( $(pss "$holder") / 1024 )) MiB, qemu PSS $(( $(pss "$qemu") / 1024 )) MiB"
file=/var/tmp/sandbox-pool-bench-$id.save
t0=$(ms); virsh -q -c "$URI" save "sandbox-$id" "$file" >/dev/null; t1=$(ms)
echo "virsh save: $(( (t1 - t0) / 1000000 )) ms, file $(( $(stat -c %s "$file") / 1048576 )) MiB"
# The member's directory went with its holder (the channel hung up); qemu re-creates its sockets there on restore.
mkdir -p "$SANDBOX_ROOT/run/$id"
t0=$(ms); virsh -q -c "$URI" restore --paused "$file" >/dev/null; t1=$(ms)
echo "virsh restore --paused: $(( (t1 - t0) / 1000000 )) ms"
t0=$(ms); virsh -q -c "$URI" resume "sandbox-$id" >/dev/null; t1=$(ms)
echo "virsh resume: $(( (t1 - t0) / 1000000 )) ms"
virsh -q -c "$URI" destroy "sandbox-$id" >/dev/null
rm -rf "$file" "$SANDBOX_ROOT/run/$id"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
