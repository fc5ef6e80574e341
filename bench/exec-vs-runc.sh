#!/usr/bin/env bash
# `sandbox exec ID true` into a running detached container against `runc exec` into a running runc container of the
# very same rootfs, with hyperfine; and, with --vm, `sandbox exec` into a running micro-VM. Also `run -d` (returns
# once the workload is exec'd) beside a foreground `run --rm true`.
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
