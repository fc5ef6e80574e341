#!/usr/bin/env bash
# `sandbox run --rm busybox true` of one or more builds against `runc run` on the same read-only rootfs, interleaved:
# each round runs every build once and runc once, so that the load on a shared machine hits all of them alike.
# Prints one line of wall times (ms) per round and the medians and per-round ratios at the end.
#   usage: bench/interleaved-vs-runc.sh ROUNDS BIN_DIR...   (each BIN_DIR holds a `sandbox` and its `sandbox-init`)
#   e.g.   bench/interleaved-vs-runc.sh 40 /tmp/old/out/bin out/bin
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"
source "$REPO_ROOT/bench/lib.sh"
[ $# -ge 2 ] || die "usage: bench/interleaved-vs-runc.sh ROUNDS BIN_DIR..."
rounds=$1; shift
command -v runc >/dev/null || die "runc is not installed"
export SANDBOX_ROOT=${SANDBOX_ROOT:-$REPO_ROOT/out/bench-root}
first="$1/sandbox"
rootfs=$(SANDBOX_INIT="$1/sandbox-init" busybox_rootfs "$first")
bundle=$(mktemp -d)
trap 'rm -rf "$bundle"' EXIT
runc_bundle "$bundle" "$rootfs" /bin/true

results=$(mktemp)
trap 'rm -rf "$bundle" "$results"' EXIT
for i in $(seq "$rounds"); do
  line=""
  for dir in "$@"; do
    t0=$EPOCHREALTIME; SANDBOX_INIT="$dir/sandbox-init" "$dir/sandbox" run --rm busybox true; t1=$EPOCHREALTIME
    line+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f ", (b - a) * 1000 }')"
  done
  id="bench-$$-$i"
  t0=$EPOCHREALTIME; runc run --bundle "$bundle" "$id" >/dev/null; t1=$EPOCHREALTIME
  # runc leaves its v1 cgroup directories behind.
  for c in /sys/fs/cgroup/*/"$id"; do [ -d "$c" ] && rmdir "$c" 2>/dev/null || true; done
  line+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')"
  echo "$line" | tee -a "$results"
done
python3 - "$results" "$@" <<'PY'
import statistics as s, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
names = sys.argv[2:] + ["runc run"]
cols = list(zip(*rows))
for n, c in zip(names, cols):
    c = sorted(c)
    print(f"{n}: median {s.median(c):.1f} ms, p10 {c[len(c) // 10]:.1f}, p90 {c[len(c) * 9 // 10]:.1f}, min {c[0]:.1f}")
for i, n in enumerate(names[:-1]):
    print(f"{n} / runc, per-round median: {s.median([r[i] / r[-1] for r in rows]):.2f}")
PY
