#!/usr/bin/env bash
# What libvirtd's own configuration costs a cold micro-VM: `sandbox run --vm --rm busybox true` (cold, no pool) against
# private libvirtds that differ only in qemu.conf, interleaved, with the medians of virDomainCreateXML (create-called
# -> created, from --timings-raw) and of the whole run. Each daemon runs in its own mount namespace (as the tests'
# PrivateLibvirtd does: its /run/libvirt, /var/lib/libvirt, /etc/libvirt are private, it sees no other domains) and
# writes qemu's output to files (stdio_handler = "file" in every variant: a private daemon has no virtlogd). The shared
# libvirtd is not touched. Prints a Markdown table.
#   usage: bench/libvirtd-config.sh [RUNS]      (SANDBOX_BIN=DIR: measure the binaries in DIR, no build)
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

runs=${1:-5}
[ -n "${SANDBOX_BIN:-}" ] || "$REPO_ROOT/scripts/build.sh"
export SANDBOX_KERNEL=${SANDBOX_KERNEL:-$OUT/kernel/current/vmlinux}
sandbox="${SANDBOX_BIN:-$OUT/bin}/sandbox"
work=$(mktemp -d /var/tmp/sandbox-libvirtd-config.XXXXXX)
export SANDBOX_ROOT="$work/store" SANDBOX_VM_POOL=off

# name|qemu.conf lines (besides the common ones)
variants=(
  "default|"
  "namespaces=[]|namespaces = [ ]"
  "cgroups=[]|cgroup_controllers = [ ]"
  "both|namespaces = [ ]
cgroup_controllers = [ ]"
)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  rm -rf "$work"
}
trap cleanup EXIT

uris=()
for i in "${!variants[@]}"; do
  dir="$work/lv$i"
  mkdir -p "$dir"/{etc,run,lib,cache,log,sock}
  printf 'unix_sock_dir = "%s/sock"\nunix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n' "$dir" >"$dir/etc/libvirtd.conf"
  printf 'stdio_handler = "file"\n%s\n' "${variants[$i]#*|}" >"$dir/etc/qemu.conf"
  unshare --mount --propagation private -- sh -c "
    mount -t tmpfs tmpfs /run/libvirt && mount --bind '$dir/lib' /var/lib/libvirt &&
    mount --bind '$dir/cache' /var/cache/libvirt && mount --bind '$dir/log' /var/log/libvirt &&
    mount --bind '$dir/etc' /etc/libvirt && exec libvirtd --pid-file '$dir/run/libvirtd.pid'" >>"$dir/libvirtd.out" 2>&1 &
  pids+=($!)
  uris+=("qemu:///system?socket=$dir/sock/libvirt-sock")
done
for i in "${!variants[@]}"; do
  for _ in $(seq 600); do [ -S "$work/lv$i/sock/libvirt-sock" ] && break; sleep 0.1; done
  [ -S "$work/lv$i/sock/libvirt-sock" ] || die "private libvirtd $i did not come up: $(tail -n 3 "$work/lv$i/libvirtd.out")"
  # The image, its EROFS disk and the probe's answer, and the daemon's qemu capabilities, outside the measurement.
  "$sandbox" --libvirt-uri "${uris[$i]}" run --vm --rm busybox true >/dev/null
done

python3 - "$sandbox" "$runs" "${uris[@]}" -- "${variants[@]%%|*}" <<'PY'
import statistics, subprocess, sys, time
args = sys.argv[1:]
sandbox, runs = args[0], int(args[1])
sep = args.index("--")
uris, names = args[2:sep], args[sep + 1:]
load = lambda: open("/proc/loadavg").read().split()[0]
create = {n: [] for n in names}
whole = {n: [] for n in names}
print(f"load average at start: {load()}", file=sys.stderr)
for r in range(runs):
    order = list(range(len(names))) if r % 2 == 0 else list(reversed(range(len(names))))
    for i in order:
        t0 = time.monotonic_ns()
        p = subprocess.run([sandbox, "--libvirt-uri", uris[i], "run", "--vm", "--rm", "--timings-raw", "busybox", "true"],
                           capture_output=True, text=True)
        t1 = time.monotonic_ns()
        if p.returncode != 0:
            raise SystemExit(f"{names[i]}: run failed ({p.returncode}): {p.stderr.strip()}")
        line = next(l for l in p.stderr.splitlines() if l.startswith("sandbox-timings "))
        f = dict(kv.split("=", 1) for kv in line.split()[1:])
        steps = dict(s.split("@") for s in f.get("steps", "").split(",") if "@" in s)
        create[names[i]].append((int(f["created"]) - int(steps["create-called"])) / 1e6)
        whole[names[i]].append((t1 - t0) / 1e6)
    print(f"run {r + 1}/{runs} done (load {load()})", file=sys.stderr)
print(f"\n{runs} cold runs per daemon, interleaved, medians in ms, load average at the end {load()}\n")
print("| qemu.conf | virDomainCreateXML | whole run |")
print("|---|---:|---:|")
for n in names:
    print(f"| {n} | {statistics.median(create[n]):.1f} | {statistics.median(whole[n]):.1f} |")
PY
