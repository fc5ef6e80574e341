#!/usr/bin/env bash
# `podman run --rm busybox true` through runc, sandbox-oci and sandbox-oci-vm, in one hyperfine run (issue 9's bench
# rows). podman 4.3 with its own temporary storage and the store's busybox rootfs imported as localhost/busybox,
# --network none (the runtimes are compared, not podman's CNI setup, which is the same for all three), this host's
# rlimit flags.
# Usage: bench/podman-oci.sh [RUNS]   (results in bench/out/podman-oci.{md,json}); prints the load average before/after.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"
source "$REPO_ROOT/bench/lib.sh"
runs=${1:-10}
"$REPO_ROOT/scripts/build.sh"
for tool in hyperfine runc podman; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
"$REPO_ROOT/scripts/start-libvirtd.sh"

export SANDBOX_ROOT=${SANDBOX_ROOT:-$REPO_ROOT/out/bench-root}
rootfs=$(busybox_rootfs "$OUT/bin/sandbox")
podman_store sandbox-bench-podman "$rootfs"   # sets dir and P (bench/lib.sh)
L="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none"
mkdir -p "$REPO_ROOT/bench/out"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N -w 1 -r "$runs" --export-markdown "$REPO_ROOT/bench/out/podman-oci.md" --export-json "$REPO_ROOT/bench/out/podman-oci.json" \
  -n runc "$P --runtime runc run --rm $L busybox true" \
  -n sandbox-oci "$P --runtime $OUT/bin/sandbox-oci run --rm $L busybox true" \
  -n sandbox-oci-vm "$P --runtime $OUT/bin/sandbox-oci-vm run --rm $L busybox true"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
