#!/usr/bin/env bash
# Usage: bench/footprint-detached.sh N   — N idle detached containers; PSS of what we keep alive besides the workload
# (a detached owner process, if any, + sandbox-init; SANDBOX_DETACHED_OWNER=process measures the .NET owner design).
set -euo pipefail
N=${1:-50}
CLI=${SANDBOX_CLI:-$(cd "$(dirname "$0")/.." && pwd)/out/bin/sandbox}
export SANDBOX_ROOT=${SANDBOX_ROOT:-/var/tmp/sandbox-footprint}
mkdir -p "$SANDBOX_ROOT"
ids=()
for i in $(seq 1 "$N"); do ids+=("$("$CLI" run -d busybox sleep 100000)"); done
sleep 3
pss() { awk '/^Pss:/{s+=$2} END{print s+0}' /proc/$1/smaps_rollup 2>/dev/null || echo 0; }
owner_total=0; init_total=0
for id in "${ids[@]}"; do
  o=$(pgrep -f -- "__owner $id" | head -1 || true)
  i=$("$CLI" inspect "$id" | sed -n 's/.*"initPid": *\([0-9]*\).*/\1/p')
  [ -n "$o" ] && owner_total=$((owner_total + $(pss "$o")))
  [ -n "$i" ] && init_total=$((init_total + $(pss "$i")))
done
# Where one holder's memory goes (the first init; with SANDBOX_DETACHED_OWNER=process also the first owner).
first_init=$("$CLI" inspect "${ids[0]}" | sed -n 's/.*"initPid": *\([0-9]*\).*/\1/p')
echo "init $first_init smaps_rollup: $(grep -E '^(Rss|Pss|Pss_Anon|Pss_File|Private_Clean|Private_Dirty|Anonymous):' /proc/$first_init/smaps_rollup | tr -s ' ' | tr '\n' ';')"
first_owner=$(pgrep -f -- "__owner ${ids[0]}" | head -1 || true)
[ -n "$first_owner" ] && echo "owner $first_owner smaps_rollup: $(grep -E '^(Rss|Pss|Pss_Anon|Pss_File|Private_Clean|Private_Dirty|Anonymous):' /proc/$first_owner/smaps_rollup | tr -s ' ' | tr '\n' ';')"
echo "N=$N owner_pss_total_kib=$owner_total init_pss_total_kib=$init_total per_sandbox_kib=$(( (owner_total + init_total) / N )) owner_each_kib=$((owner_total / N)) init_each_kib=$((init_total / N))"
"$CLI" rm -f "${ids[@]}" >/dev/null
