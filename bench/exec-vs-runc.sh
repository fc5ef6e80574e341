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

# run -d's target is a foreground run's time to *workload exec*, which hyperfine cannot see, and hyperfine's blocks
# (all run -d's, then all foreground runs) compare different loads and different reap work. So also: N interleaved
# pairs, one `run -d --rm true` (launch to exit) then one foreground `run --rm --timings-raw true` (it reaps the run -d's
# leftovers, so both pay one reap): launch to workload exec from the exec mark init stamps (CLOCK_MONOTONIC).
python3 - "$sandbox" "$runs" <<'PY' | tee "$REPO_ROOT/bench/out/exec-vs-runc.pairs.txt"
import re, statistics, subprocess, sys, time
sandbox, runs = sys.argv[1], int(sys.argv[2])
now = lambda: time.clock_gettime_ns(time.CLOCK_MONOTONIC)
detached, to_exec, whole = [], [], []
for _ in range(runs):
    t0 = now()
    p = subprocess.run([sandbox, "run", "-d", "--rm", "busybox", "true"], capture_output=True, text=True)
    detached.append((now() - t0) / 1e6)
    if p.returncode != 0: sys.exit("run -d failed: " + p.stderr.strip())
    time.sleep(0.3)  # the run -d's workload ends: its leftovers wait for the next command's reap
    t0 = now()
    p = subprocess.run([sandbox, "run", "--rm", "--timings-raw", "busybox", "true"], capture_output=True, text=True)
    whole.append((now() - t0) / 1e6)
    m = re.search(r"\bexec=(\d+)", p.stderr + p.stdout)
    if p.returncode != 0 or not m: sys.exit("foreground run failed: " + p.stderr.strip())
    to_exec.append((int(m.group(1)) - t0) / 1e6)
for name, v in (("run -d --rm true, launch to exit", detached),
                ("foreground run --rm true, launch to workload exec", to_exec),
                ("foreground run --rm true, launch to exit", whole)):
    print(f"{name}: median {statistics.median(v):.1f} ms, mean {statistics.mean(v):.1f} ± {statistics.stdev(v):.1f} ms ({runs} pairs)")
print(f"run -d / foreground to exec (medians): {statistics.median(detached) / statistics.median(to_exec):.2f}x")
PY
