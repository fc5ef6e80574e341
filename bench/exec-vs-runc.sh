#!/usr/bin/env bash
# `sandbox exec ID true` into a running detached container against `runc exec` into a running runc container of the
# very same rootfs, with hyperfine; and, with --vm, `sandbox exec` into a running micro-VM. Also `run -d` (returns
# once the workload is exec'd) beside a foreground `run --rm true`: its whole run, and its launch to workload exec.
# Usage: bench/exec-vs-runc.sh [RUNS] [--vm]   (results in bench/out/exec-vs-runc.*)
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"
source "$REPO_ROOT/bench/lib.sh"
runs=${1:-30}
vm=${2:-}
"$REPO_ROOT/scripts/build.sh"
command -v hyperfine >/dev/null || die "hyperfine is not installed"
command -v runc >/dev/null || die "runc is not installed"

export SANDBOX_ROOT=${SANDBOX_ROOT:-$REPO_ROOT/out/bench-root}
sandbox="$OUT/bin/sandbox"
rootfs=$(busybox_rootfs "$sandbox")
bundle="$OUT/bench-runc-exec-bundle"
runc_bundle "$bundle" "$rootfs" /bin/sleep 1000000
runc_id="bench-exec-$$"
id=$("$sandbox" run -d busybox sleep 1000000)
# The same, held by a detached .NET owner process (the design before init held detached containers): CLI → owner → init.
oid=$(SANDBOX_DETACHED_OWNER=process "$sandbox" run -d busybox sleep 1000000)
vmid=""
cleanup() {
  "$sandbox" rm -f "$id" "$oid" ${vmid:+"$vmid"} >/dev/null 2>&1 || true
  runc kill "$runc_id" KILL >/dev/null 2>&1 || true; sleep 0.2; runc delete -f "$runc_id" >/dev/null 2>&1 || true
  rmdir /sys/fs/cgroup/*/"$runc_id" 2>/dev/null || true
}
trap cleanup EXIT
runc run -d --bundle "$bundle" "$runc_id" </dev/null >/dev/null 2>&1
extra=()
if [ "$vm" = "--vm" ]; then
  vmid=$("$sandbox" run -d --vm busybox sleep 1000000)
  extra=(-n "sandbox exec VM true (TCG)" "$sandbox exec $vmid true")
fi
mkdir -p "$REPO_ROOT/bench/out"
hyperfine --warmup 3 --runs "$runs" -N \
  --export-json "$REPO_ROOT/bench/out/exec-vs-runc.json" --export-markdown "$REPO_ROOT/bench/out/exec-vs-runc.md" \
  -n "sandbox exec ID true" "$sandbox exec $id true" \
  -n "runc exec ID true" "runc exec $runc_id /bin/true" \
  -n "sandbox exec ID true, via a .NET owner process" "$sandbox exec $oid true" \
  "${extra[@]}" \
  -n "sandbox run -d --rm true (returns at workload exec)" "$sandbox run -d --rm busybox true" \
  -n "sandbox run -d --rm true, .NET owner process (SANDBOX_DETACHED_OWNER=process)" "env SANDBOX_DETACHED_OWNER=process $sandbox run -d --rm busybox true" \
  -n "sandbox run --rm true (foreground)" "$sandbox run --rm busybox true"

# run -d's target is a foreground run's time to *workload exec*, which hyperfine cannot see: launch the foreground
# run N times and take, per run, the workload's exec mark (--timings-raw, CLOCK_MONOTONIC, stamped by init) minus the
# moment just before the launch.
python3 - "$sandbox" "$runs" <<'PY' | tee "$REPO_ROOT/bench/out/exec-vs-runc.fg-exec.txt"
import re, statistics, subprocess, sys, time
sandbox, runs = sys.argv[1], int(sys.argv[2])
ms = []
for _ in range(runs):
    t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    p = subprocess.run([sandbox, "run", "--rm", "--timings-raw", "busybox", "true"], capture_output=True, text=True)
    m = re.search(r"\bexec=(\d+)", p.stderr + p.stdout)
    if p.returncode != 0 or not m:
        sys.exit("foreground run failed: " + p.stderr.strip())
    ms.append((int(m.group(1)) - t0) / 1e6)
print(f"foreground run --rm true, launch to workload exec: median {statistics.median(ms):.1f} ms, "
      f"mean {statistics.mean(ms):.1f} ± {statistics.stdev(ms):.1f} ms (min {min(ms):.1f}, max {max(ms):.1f}, {runs} runs)")
PY
