#!/usr/bin/env bash
# Installs what the tests need, builds, and runs the whole test suite against the real kernel, cgroups and libvirtd.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/scripts/lib.sh"
cd "$REPO_ROOT"

ensure_packages "${RUNTIME_PACKAGES[@]}" "${KERNEL_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
"$REPO_ROOT/scripts/build.sh"
"$REPO_ROOT/bench/fetch-stock-kernel.sh"   # the stock-kernel peer the benchmark tests boot
[ -x "$REPO_ROOT/scripts/start-libvirtd.sh" ] && "$REPO_ROOT/scripts/start-libvirtd.sh"
# The micro-VM tests boot the guest kernel (cached after the first build).
"$REPO_ROOT/kernels/build.sh"
# Boot the guest kernel once under plain qemu: console, vCPUs, clocksource, virtio-serial, EROFS/overlay/ext4 disks.
"$REPO_ROOT/kernels/check.sh"

export SANDBOX_INIT="$OUT/bin/sandbox-init"
export SANDBOX_CLI="$OUT/bin/sandbox"
say "running tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test "$REPO_ROOT/Sandbox.sln" --nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# One closing line over every test assembly: "N passed, N failed, N skipped".
awk '/^(Passed|Failed)! / {
       for (i = 1; i <= NF; i++) {
         v = $(i + 1); gsub(",", "", v)
         if ($i == "Passed:") p += v; if ($i == "Failed:") f += v; if ($i == "Skipped:") s += v
       }
     }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$rc"
