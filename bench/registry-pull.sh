#!/usr/bin/env bash
# Pull throughput against skopeo, in the same run, from a local docker-registry (distribution 2.8, plain HTTP on
# 127.0.0.1, filesystem storage): a ~200 MB image of 4 layers (gzip, made by umoci) is pulled RUNS times by
#   skopeo copy docker://127.0.0.1:PORT/bench/big:1 oci:DIR:x     (download + digest check, no unpack)
#   sandbox pull 127.0.0.1:PORT/bench/big:1                        (download + digest check + unpack into the store)
# each into a fresh destination, interleaved. Then the second pull of the present image is timed with hyperfine and
# the registry's access log is checked for blob requests during it.
# Usage: bench/registry-pull.sh [RUNS]   (results in bench/out/registry-pull.*)
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"
runs=${1:-3}
[ -n "${SANDBOX_BENCH_NO_BUILD:-}" ] || "$REPO_ROOT/scripts/build.sh"
for t in docker-registry skopeo umoci hyperfine; do command -v $t >/dev/null || die "$t is not installed"; done
sandbox="$OUT/bin/sandbox"
work=$(mktemp -d /tmp/sandbox-bench-registry.XXXXXX)
results="$REPO_ROOT/bench/out"
mkdir -p "$results"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.yml" <<CFG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: 127.0.0.1:$port
CFG
docker-registry serve "$work/config.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
cleanup() {
  kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true
  [ -d "$work/podman" ] && podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

say "building a ~200 MB image with umoci (4 layers of 50 MB: half random, half text)"
layout="$work/layout"
umoci init --layout "$layout" >/dev/null
umoci new --image "$layout:1" >/dev/null
for i in 1 2 3 4; do
  umoci unpack --image "$layout:1" "$work/b$i" >/dev/null
  mkdir -p "$work/b$i/rootfs/data$i"
  head -c 25M /dev/urandom > "$work/b$i/rootfs/data$i/random.bin"
  base64 -w 76 < <(head -c 18M /dev/urandom) > "$work/b$i/rootfs/data$i/text.txt"
  umoci repack --image "$layout:1" "$work/b$i" >/dev/null
  rm -rf "$work/b$i"
done
ref="127.0.0.1:$port/bench/big:1"
skopeo copy -q --dest-tls-verify=false "oci:$layout:1" "docker://$ref"
bytes=$(du -sb "$work/data/docker/registry/v2/blobs" | cut -f1)
say "image in the registry: $bytes bytes of blobs"

out="$results/registry-pull.md"
{
  echo "# registry pull: sandbox vs skopeo ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  echo "image: 4 gzip layers, $bytes bytes of blobs; registry: docker-registry on 127.0.0.1 (plain HTTP)"
  echo
  echo "| run | skopeo copy docker:// oci: (s) | sandbox pull (s) | skopeo MB/s | sandbox MB/s | sandbox / skopeo | sandbox: last blob in (s) | sandbox: unpack tail after it (s) |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$out"
for r in $(seq "$runs"); do
  rm -rf "$work/skopeo-dest" "$work/sbx-root"
  sync
  t0=$(date +%s.%N); skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$work/skopeo-dest:x"; t1=$(date +%s.%N)
  # Plain progress lines (stderr is not a terminal): one per blob when it is in; each gets a timestamp here.
  "$sandbox" --root "$work/sbx-root" pull "$ref" 2> >(while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N)" "$l"; done > "$work/progress-$r") >/dev/null
  t2=$(date +%s.%N)
  sleep 0.2
  last=$(awk '{t=$1} END {print t}' "$work/progress-$r")
  python3 - "$r" "$t0" "$t1" "$t2" "$bytes" "${last:-$t2}" >> "$out" <<'PY'
import sys
r, t0, t1, t2, b, last = sys.argv[1], *map(float, sys.argv[2:5]), int(sys.argv[5]), float(sys.argv[6])
s, x = t1 - t0, t2 - t1
print(f"| {r} | {s:.2f} | {x:.2f} | {b/s/1e6:.0f} | {b/x/1e6:.0f} | {s/x:.2f} | {last-t1:.2f} | {t2-last:.2f} |")
PY
done

# The second pull of a present image: one HEAD of the manifest, no blob. Peers in the same hyperfine run: podman's
# pull of its present copy (its own storage under $work, vfs), skopeo's one manifest GET (no store), and the floor
# of any sandbox command (start + store open, no network: images -q).
podman_args=(--root "$work/podman/root" --runroot "$work/podman/run" --storage-driver vfs --events-backend none)
podman "${podman_args[@]}" pull -q --tls-verify=false "$ref" >/dev/null
: > "$work/registry.log"
hyperfine -N --warmup 3 --runs 30 --export-markdown "$work/second.md" \
  -n "sandbox pull (present)" "$sandbox --root $work/sbx-root pull -q $ref" \
  -n "podman pull (present)" "podman ${podman_args[*]} pull -q --tls-verify=false $ref" \
  -n "skopeo inspect --raw (one manifest GET)" "skopeo inspect --raw --tls-verify=false docker://$ref" \
  -n "sandbox images -q (floor: start + store, no network)" "$sandbox --root $work/sbx-root images -q" > /dev/null
{
  echo
  echo "second pull of the present image (hyperfine -N --warmup 3 --runs 30):"
  echo
  sed "s|$work|\$WORK|g" "$work/second.md"
  echo
  echo "blob requests in the registry's access log during that run (all four subjects): $(grep -c 'GET /v2/bench/big/blobs/' "$work/registry.log" || true)"
  echo "manifest requests: $(grep -c '/v2/bench/big/manifests/' "$work/registry.log" || true) (HEAD: $(grep -c '"HEAD /v2/bench/big/manifests/' "$work/registry.log" || true))"
} >> "$out"
cat "$out"
