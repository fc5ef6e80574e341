#!/usr/bin/env bash
# Times `sandbox run --rm busybox true` against `runc run` on an OCI bundle of the very same rootfs (the store's
# unpacked busybox image), with hyperfine. Both start fresh namespaces, a cgroup, and run `true` as PID 1's child
# (sandbox) or as PID 1 (runc). Usage: bench/container-vs-runc.sh [RUNS]   (results in bench/out/container-vs-runc.*)
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"
runs=${1:-50}
"$REPO_ROOT/scripts/build.sh"
command -v hyperfine >/dev/null || die "hyperfine is not installed"
command -v runc >/dev/null || die "runc is not installed"

export SANDBOX_ROOT=${SANDBOX_ROOT:-$REPO_ROOT/out/bench-root}
sandbox="$OUT/bin/sandbox"
"$sandbox" run --rm busybox true        # imports the built-in busybox image once
rootfs=$("$sandbox" image inspect busybox | sed -n 's/^ *"rootfs": *"\(.*\)",\{0,1\}$/\1/p' | head -1)
[ -d "$rootfs" ] || rootfs=$(find "$SANDBOX_ROOT/images" -maxdepth 4 -type d -name rootfs | head -1)
[ -d "$rootfs/bin" ] || die "cannot find the busybox rootfs under $SANDBOX_ROOT"

bundle="$OUT/bench-runc-bundle"
rm -rf "$bundle" && mkdir -p "$bundle"
(cd "$bundle" && runc spec)
# Same rootfs, read-only (it is the store's cache), `true`, no terminal.
python3 - "$bundle/config.json" "$rootfs" <<'PY'
import json, sys
path, rootfs = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["root"] = {"path": rootfs, "readonly": True}
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
json.dump(c, open(path, "w"), indent=2)
PY

mkdir -p "$REPO_ROOT/bench/out"
hyperfine --warmup 3 --runs "$runs" -N \
  --export-json "$REPO_ROOT/bench/out/container-vs-runc.json" \
  --export-markdown "$REPO_ROOT/bench/out/container-vs-runc.md" \
  -n "sandbox run --rm busybox true" "$sandbox run --rm busybox true" \
  -n "runc run (same rootfs)" "sh -c 'exec runc run --bundle $bundle bench-\$\$'"
