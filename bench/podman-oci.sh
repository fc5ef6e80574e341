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
dir=$(mktemp -d /var/tmp/sandbox-bench-podman.XXXXXX)
P="podman --root $dir/root --runroot $dir/runroot --tmpdir $dir/tmp --cgroup-manager=cgroupfs --events-backend=file --storage-driver=overlay"
cleanup() {
  $P rm --all --force >/dev/null 2>&1 || true
  $P system reset --force >/dev/null 2>&1 || true
  grep -o " $dir[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
tar -C "$rootfs" -cf "$dir/busybox.tar" .
$P import "$dir/busybox.tar" localhost/busybox:latest >/dev/null
L="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none"
mkdir -p "$REPO_ROOT/bench/out"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N -w 1 -r "$runs" --export-markdown "$REPO_ROOT/bench/out/podman-oci.md" --export-json "$REPO_ROOT/bench/out/podman-oci.json" \
  -n runc "$P --runtime runc run --rm $L busybox true" \
  -n sandbox-oci "$P --runtime $OUT/bin/sandbox-oci run --rm $L busybox true" \
  -n sandbox-oci-vm "$P --runtime $OUT/bin/sandbox-oci-vm run --rm $L busybox true"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
