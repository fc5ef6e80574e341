#!/usr/bin/env bash
# Where `podman run --rm busybox true` spends its time in the runtime, per call (issue 9's perf breakdown): runc and
# sandbox-oci are each wrapped by a script that logs the wall time of every call podman (conmon) makes, by command
# (create, start, state, kill, delete), interleaved run by run. The wrapper's own cost (bash + two `date`) is the same
# for both. Usage: bench/podman-oci-calls.sh [RUNS]; prints a table of mean milliseconds per call and the load average.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"
source "$REPO_ROOT/bench/lib.sh"
runs=${1:-10}
"$REPO_ROOT/scripts/build.sh"
for tool in runc podman; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

export SANDBOX_ROOT=${SANDBOX_ROOT:-$REPO_ROOT/out/bench-root}
rootfs=$(busybox_rootfs "$OUT/bin/sandbox")
podman_store sandbox-bench-calls "$rootfs"   # sets dir and P (bench/lib.sh)
wrap() { # NAME BINARY: a runtime that logs "command microseconds" per call into $dir/NAME.log
  cat > "$dir/$1" <<EOF
#!/bin/bash
s=\$(date +%s%N)
"$2" "\$@"
rc=\$?
e=\$(date +%s%N)
cmd=other; for a in "\$@"; do case "\$a" in create|start|state|kill|delete|exec|ps) cmd=\$a; break;; esac; done
echo "\$cmd \$(( (e-s)/1000 ))" >> "$dir/$1.log"
exit \$rc
EOF
  chmod +x "$dir/$1"
}
wrap runc "$(command -v runc)"
wrap sandbox-oci "$OUT/bin/sandbox-oci"
L="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none"
$P --runtime "$dir/runc" run --rm $L busybox true
$P --runtime "$dir/sandbox-oci" run --rm $L busybox true
rm -f "$dir"/*.log
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A total=([runc]=0 [sandbox-oci]=0)
for _ in $(seq "$runs"); do
  for rt in runc sandbox-oci; do
    s=$(date +%s%N); $P --runtime "$dir/$rt" run --rm $L busybox true; e=$(date +%s%N)
    total[$rt]=$(( ${total[$rt]} + (e - s) / 1000 ))
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| call | runc (ms) | sandbox-oci (ms) |\n|---|---|---|\n'
for cmd in create start state kill delete other; do
  r=$(awk -v c="$cmd" '$1 == c { n++; t += $2 } END { if (n) printf "%.1f (%d calls)", t / n / 1000, n; else print "-" }' "$dir/runc.log")
  o=$(awk -v c="$cmd" '$1 == c { n++; t += $2 } END { if (n) printf "%.1f (%d calls)", t / n / 1000, n; else print "-" }' "$dir/sandbox-oci.log")
  [[ $r == - && $o == - ]] || printf '| %s | %s | %s |\n' "$cmd" "$r" "$o"
done
printf '| whole `podman run --rm` (mean) | %.1f | %.1f |\n' "$(echo "${total[runc]} / $runs / 1000" | bc -l)" "$(echo "${total[sandbox-oci]} / $runs / 1000" | bc -l)"
