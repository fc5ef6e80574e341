#!/usr/bin/env bash
# Times `sandbox run --rm busybox true` against `runc run` on an OCI bundle of the very same rootfs (the store's
# unpacked busybox image), with hyperfine. Both start fresh namespaces, a cgroup, and run `true` as PID 1's child
# (sandbox) or as PID 1 (runc). Usage: bench/container-vs-runc.sh [RUNS]   (results in bench/out/container-vs-runc.*)
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"
source "$REPO_ROOT/bench/lib.sh"
runs=${1:-50}
"$REPO_ROOT/scripts/build.sh"
command -v hyperfine >/dev/null || die "hyperfine is not installed"
command -v runc >/dev/null || die "runc is not installed"

export SANDBOX_ROOT=${SANDBOX_ROOT:-$REPO_ROOT/out/bench-root}
sandbox="$OUT/bin/sandbox"
rootfs=$(busybox_rootfs "$sandbox")
bundle="$OUT/bench-runc-bundle"
runc_bundle "$bundle" "$rootfs" /bin/true

mkdir -p "$REPO_ROOT/bench/out"
hyperfine --warmup 3 --runs "$runs" -N \
  --export-json "$REPO_ROOT/bench/out/container-vs-runc.json" \
  --export-markdown "$REPO_ROOT/bench/out/container-vs-runc.md" \
  -n "sandbox run --rm busybox true" "$sandbox run --rm busybox true" \
  -n "runc run (same rootfs)" "sh -c 'exec runc run --bundle $bundle bench-\$\$'"
