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

# podman_store PREFIX ROOTFS: podman with its own temporary storage in $dir (set, with the podman command line in $P),
# the host's flags (cgroupfs, file events), ROOTFS imported as localhost/busybox; everything removed on exit.
podman_store() {
  dir=$(mktemp -d "/var/tmp/$1.XXXXXX")
  P="podman --root $dir/root --runroot $dir/runroot --tmpdir $dir/tmp --cgroup-manager=cgroupfs --events-backend=file --storage-driver=overlay"
  trap podman_store_cleanup EXIT
  tar -C "$2" -cf "$dir/busybox.tar" .
  $P import "$dir/busybox.tar" localhost/busybox:latest >/dev/null
}

podman_store_cleanup() {
  $P rm --all --force >/dev/null 2>&1 || true
  $P system reset --force >/dev/null 2>&1 || true
  grep -o " $dir[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$dir"
}
