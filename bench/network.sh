#!/usr/bin/env bash
# Network benchmarks, peers in the same run: iperf3 through a published port (127.0.0.1:PORT -> the sandbox's port,
# the portmap plugin's DNAT) for a Sandbox container, podman's published port (same CNI plugins, podman's own
# bridge), and a Sandbox micro-VM; then TCP connection set-up latency through each published port (connect() until
# established, median and p90 of N connections), with the host's own loopback as the floor.
# The two containers are measured alternately --rounds times (median shown): the host's load moves between runs.
# Usage: bench/network.sh [--seconds S] [--connects N] [--rounds R]   (Markdown on stdout; raw JSON under bench/out/network/)
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"
SECONDS_PER_RUN=10
CONNECTS=300
ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_RUN="$2"; shift 2 ;;
    --connects) CONNECTS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) die "bench/network.sh: unknown argument $1" ;;
  esac
done
"$REPO_ROOT/scripts/build.sh"
for t in iperf3 podman python3; do command -v $t >/dev/null || die "$t is not installed"; done
export SANDBOX_ROOT=${SANDBOX_ROOT:-$REPO_ROOT/out/bench-root}
sandbox="$OUT/bin/sandbox"
results="$REPO_ROOT/bench/out/network"
mkdir -p "$results"

# One rootfs with iperf3 (and its libraries) plus busybox, used as a Sandbox image and as podman's --rootfs.
rootfs=$(mktemp -d /tmp/sandbox-netbench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  podman rm -f sandbox-netbench >/dev/null 2>&1 || true
  rm -rf "$rootfs"
}
trap cleanup EXIT
mkdir -p "$rootfs/bin" "$rootfs/www" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for a in sh httpd sleep; do ln -sf busybox "$rootfs/bin/$a"; done
echo ok >"$rootfs/www/index.html"
for f in /usr/bin/iperf3 $(ldd /usr/bin/iperf3 | grep -o '/[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$f")"
  cp -L "$f" "$rootfs$f"
done
"$sandbox" image import "$rootfs" --name netbench:latest >/dev/null
"$sandbox" network ls -q | grep -qx netbench || "$sandbox" network create netbench >/dev/null

PODMAN=(podman --cgroup-manager=cgroupfs --events-backend=file)
PODMAN_RUN=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT: until a connection through the published port is accepted by the server behind it.
wait_port() {
  python3 - "$1" <<'PY'
import socket, sys, time
port = int(sys.argv[1]); end = time.time() + 180
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1); s.send(b"GET / HTTP/1.0\r\n\r\n")
        if s.recv(1): sys.exit(0)
    except OSError: pass
    time.sleep(0.2)
sys.exit(1)
PY
}

# connect_latency PORT: connect() to established, N times, median and p90 in microseconds.
connect_latency() {
  python3 - "$1" "$CONNECTS" <<'PY'
import socket, sys, time, statistics
port, n = int(sys.argv[1]), int(sys.argv[2]); xs = []
for _ in range(n):
    s = socket.socket(); t = time.perf_counter_ns(); s.connect(("127.0.0.1", port)); xs.append((time.perf_counter_ns() - t) / 1000); s.close()
xs.sort(); print(f"{statistics.median(xs):.0f} {xs[int(len(xs)*0.9)]:.0f}")
PY
}

# throughput NAME PORT: iperf3 client on the host against the server behind PORT; Gbit/s received.
throughput() {
  iperf3 -c 127.0.0.1 -p "$2" -t "$SECONDS_PER_RUN" -J >"$results/$1.json"
  python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/1e9))' "$results/$1.json"
}

run_subject() { # NAME START-COMMAND... ; sets THROUGHPUT and LATENCY
  local name=$1; shift
  local iport hport
  iport=$(free_port); hport=$(free_port)
  "$@" "$iport" "$hport" &
  pids+=($!)
  wait_port "$hport" || die "$name: the published httpd did not answer"
  sleep 1
  THROUGHPUT=$(throughput "$name" "$iport")
  LATENCY=$(connect_latency "$hport")
  kill -TERM "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
}

SERVE='httpd -p 8080 -h /www; exec iperf3 -s -p 5201'
start_sandbox()   { exec "$sandbox" run --rm --network netbench -p "127.0.0.1:$1:5201" -p "127.0.0.1:$2:8080" netbench:latest sh -c "$SERVE" >/dev/null; }
start_vm()        { exec "$sandbox" run --rm --vm --network netbench -p "127.0.0.1:$1:5201" -p "127.0.0.1:$2:8080" netbench:latest sh -c "$SERVE" >/dev/null; }
start_podman()    { exec "${PODMAN[@]}" run --rm --name sandbox-netbench "${PODMAN_RUN[@]}" -p "127.0.0.1:$1:5201" -p "127.0.0.1:$2:8080" --rootfs "$rootfs" sh -c "$SERVE" >/dev/null; }
start_host() {
  busybox httpd -f -p "127.0.0.1:$2" -h "$rootfs/www" & local h=$!
  iperf3 -s -p "$1" >/dev/null & local i=$!
  trap 'kill $h $i 2>/dev/null' TERM
  wait
}

declare -A T L
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
run_subject host start_host; T[host]=$THROUGHPUT; L[host]=$LATENCY
echo "host: $THROUGHPUT Gbit/s, connect median/p90 $LATENCY us" >&2
declare -A TS LM LP
for ((round = 1; round <= ROUNDS; round++)); do
  for subject in sandbox podman; do
    run_subject "$subject-$round" "start_$subject"
    TS[$subject]+="$THROUGHPUT "; LM[$subject]+="${LATENCY% *} "; LP[$subject]+="${LATENCY#* } "
    echo "$subject round $round: ${THROUGHPUT} Gbit/s, connect median/p90 ${LATENCY} us" >&2
  done
done
for subject in sandbox podman; do
  T[$subject]=$(median ${TS[$subject]}); L[$subject]="$(median ${LM[$subject]}) $(median ${LP[$subject]})"
done
run_subject vm start_vm; T[vm]=$THROUGHPUT; L[vm]=$LATENCY
echo "vm: $THROUGHPUT Gbit/s, connect median/p90 $LATENCY us" >&2

ratio=$(python3 -c "print('%.2f' % (${T[sandbox]}/${T[podman]}))")
cat <<MD
| subject (published port 127.0.0.1:PORT) | iperf3, ${SECONDS_PER_RUN} s (Gbit/s; containers: median of $ROUNDS alternating rounds) | connect, median (µs) | connect, p90 (µs) |
|---|---|---|---|
| host loopback, no NAT (floor) | ${T[host]} | ${L[host]% *} | ${L[host]#* } |
| Sandbox container (CNI bridge + portmap) | ${T[sandbox]} | ${L[sandbox]% *} | ${L[sandbox]#* } |
| podman container (CNI bridge + portmap) | ${T[podman]} | ${L[podman]% *} | ${L[podman]#* } |
| Sandbox micro-VM (TCG, virtio-net tap on the bridge) | ${T[vm]} | ${L[vm]% *} | ${L[vm]#* } |

Sandbox container / podman throughput: ${ratio}× (rounds: sandbox ${TS[sandbox]}/ podman ${TS[podman]}Gbit/s)
MD
