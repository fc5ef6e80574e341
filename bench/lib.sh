# Shared by the bench scripts that compare Sandbox with runc on the very same rootfs. Source after scripts/lib.sh.

# Prints the rootfs of the store's built-in busybox image (importing it on first use) for the sandbox binary $1.
busybox_rootfs() {
  local sandbox=$1 rootfs
  "$sandbox" run --rm busybox true >/dev/null   # imports the built-in busybox image once
  rootfs=$("$sandbox" image inspect busybox | sed -n 's/^ *"rootfs": *"\(.*\)",\{0,1\}$/\1/p' | head -1)
  [ -d "$rootfs" ] || rootfs=$(find "$SANDBOX_ROOT/images" -maxdepth 4 -type d -name rootfs | head -1)
  [ -d "$rootfs/bin" ] || die "cannot find the busybox rootfs under $SANDBOX_ROOT"
  printf '%s\n' "$rootfs"
}

# runc_bundle DIR ROOTFS ARG...: a fresh OCI bundle in DIR (`runc spec`) running ARG... on ROOTFS, read-only (it is
# the store's cache), without a terminal.
runc_bundle() {
  local bundle=$1 rootfs=$2; shift 2
  rm -rf "$bundle" && mkdir -p "$bundle"
  (cd "$bundle" && runc spec)
  python3 - "$bundle/config.json" "$rootfs" "$@" <<'PY'
import json, sys
path, rootfs, args = sys.argv[1], sys.argv[2], sys.argv[3:]
c = json.load(open(path))
c["root"] = {"path": rootfs, "readonly": True}
c["process"]["args"] = args
c["process"]["terminal"] = False
json.dump(c, open(path, "w"), indent=2)
PY
}
