#!/usr/bin/env bash
# Where a `sandbox run --vm --rm busybox true` goes, step by step, cold and served by a warm pool member: the CLI's
# start (from this harness's fork), host steps (libvirt connect, image lease, virDomainCreateXML or the pool claim),
# the guest kernel's own marks (its log's clock start, initramfs unpack, exec of /init; read back from /dev/kmsg),
# init's steps (runtime start, Hello, Start, root mount, the workload's init, root switch, exec) and the teardown
# (destroy, clean-up, CLI exit). Uses `--timings-raw --timings-detail`; medians over RUNS runs of each path,
# interleaved (cold, warm, cold, ...). The traced runs read the kernel log after Start ("trace read" row): subtract it
# for an untraced run. Prints a Markdown table.
#   usage: bench/vm-breakdown.sh [RUNS] [cold|warm|both]
# SANDBOX_BIN=DIR measures the binaries in DIR (e.g. a copy of out/bin before a change) without building.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

runs=${1:-5}
paths=${2:-both}
if [ -n "${SANDBOX_BIN:-}" ]; then
  export SANDBOX_KERNEL=${SANDBOX_KERNEL:-$OUT/kernel/current/vmlinux}
else
  "$REPO_ROOT/scripts/build.sh"
fi
"$REPO_ROOT/scripts/start-libvirtd.sh"
work=$(mktemp -d /var/tmp/sandbox-breakdown.XXXXXX)
export SANDBOX_ROOT="$work/store"
sandbox="${SANDBOX_BIN:-$OUT/bin}/sandbox"
cleanup() { "$sandbox" pool drain >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
# The store's busybox image, its EROFS disk and the KVM probe's answer, outside the measurement.
SANDBOX_VM_POOL=off "$sandbox" run --vm --rm busybox true

python3 - "$sandbox" "$runs" "$paths" <<'PY'
import os, statistics, subprocess, sys, time
sandbox, runs, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3]
load = lambda: open("/proc/loadavg").read().split()[0]

def run(path):
    env = dict(os.environ)
    if path == "cold":
        env["SANDBOX_VM_POOL"] = "off"
    else:
        subprocess.run([sandbox, "pool", "drain"], check=True, capture_output=True)
        subprocess.run([sandbox, "pool", "fill", "busybox", "--count", "1"], check=True, capture_output=True)
    t0 = time.monotonic_ns()
    p = subprocess.run([sandbox, "run", "--vm", "--rm", "--timings-raw", "--timings-detail", "busybox", "true"],
                       env=env, capture_output=True, text=True)
    t1 = time.monotonic_ns()
    if p.returncode != 0:
        raise SystemExit(f"{path} run failed ({p.returncode}): {p.stderr.strip()}")
    line = next(l for l in p.stderr.splitlines() if l.startswith("sandbox-timings "))
    f = dict(kv.split("=", 1) for kv in line.split()[1:])
    if f.get("boot") != path:
        raise SystemExit(f"asked for a {path} run, got boot={f.get('boot')}")
    m = {k: int(f[k]) for k in ("requested", "created", "init", "exec", "exit", "gone") if f.get(k, "-") != "-"}
    for s in f.get("steps", "").split(","):
        if "@" in s:
            name, ns = s.split("@")
            m[name] = int(ns)
    m["harness-start"], m["cli-exit"] = t0, t1
    return m

# (label, from mark, to mark): rows whose marks a path lacks are left out of its column.
rows = [
    ("CLI start, store open, reaper pass, record", "harness-start", "requested"),
    ("libvirt connect (+ stale-domain scan, probe cache)", "requested", "libvirt-connected"),
    ("image lease (EROFS disk cached)", "libvirt-connected", "image-acquired"),
    ("run dir", "image-acquired", "run-dir"),
    ("domain XML", "run-dir", "create-called"),
    ("virDomainCreateXML (qemu start, QMP, cont)", "create-called", "created"),
    ("pool scan + claim round trip (holder resumes, passes the fd)", "run-dir", "claimed"),
    ("adopt the member's domain", "claimed", "created"),
    ("create returned -> guest kernel clock starts", "created", "kernel"),
    ("kernel: start -> initramfs unpack starts", "kernel", "initramfs-unpack"),
    ("kernel: initramfs unpack", "initramfs-unpack", "initramfs-done"),
    ("kernel: rest of boot -> exec /init", "initramfs-done", "init-exec"),
    ("init: exec -> first managed instruction (loader + .NET start)", "init-exec", "init"),
    ("init: mount /dev /proc /sys", "init", "kernel-fs-mounted"),
    ("init: find and open the virtio-serial port", "kernel-fs-mounted", "port-opened"),
    ("init: Hello reaches the host", "port-opened", "hello"),
    ("host: Hello -> Start sent", "hello", "start-sent"),
    ("guest: Start received and parsed", "start-sent", "start-received"),
    ("clock, seed, second Hello, (trace only) read the kernel log", "start-received", "trace-read"),
    ("mount erofs + tmpfs + overlay", "trace-read", "root-mounted"),
    ("pid_max, cgroup, spawn the workload's init", "root-mounted", "workload-init-spawned"),
    ("workload's init: exec -> first managed instruction", "workload-init-spawned", "workload-init-started"),
    ("workload's init: /proc /dev /sys /etc, root switch", "workload-init-started", "root-switched"),
    ("workload's init: identity, stdio, seccomp, execve", "root-switched", "exec"),
    ("workload `true` runs, init reaps it", "exec", "exit"),
    ("Exited frame reaches the host", "exit", "exit-received"),
    ("virDomainDestroy", "exit-received", "gone"),
    ("run dir, qemu log, image lease released", "gone", "cleaned-up"),
    ("CLI exits (record removed, process exit)", "cleaned-up", "cli-exit"),
]
order = ["cold", "warm"] if paths == "both" else [paths]
samples = {p: [] for p in order}
print(f"load average at start: {load()}", file=sys.stderr)
for i in range(runs):
    for p in (order if i % 2 == 0 else order[::-1]):
        samples[p].append(run(p))
    print(f"run {i + 1}/{runs} done (load {load()})", file=sys.stderr)

def med(path, a, b):
    vals = [(m[b] - m[a]) / 1e6 for m in samples[path] if a in m and b in m]
    return statistics.median(vals) if len(vals) == len(samples[path]) else None

print(f"\n{runs} runs per path, medians in ms, load average at the end {load()}\n")
print("| step | " + " | ".join(order) + " |")
print("|---|" + "---:|" * len(order))
for label, a, b in rows:
    cells = [med(p, a, b) for p in order]
    if all(c is None for c in cells):
        continue
    print(f"| {label} | " + " | ".join("–" if c is None else f"{c:.1f}" for c in cells) + " |")
print("| **whole run (harness: fork to exit)** | " + " | ".join(f"**{med(p, 'harness-start', 'cli-exit'):.1f}**" for p in order) + " |")
print("| workload exec, from the harness's fork | " + " | ".join(f"{med(p, 'harness-start', 'exec'):.1f}" for p in order) + " |")
PY
