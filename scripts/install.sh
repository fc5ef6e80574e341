#!/usr/bin/env bash
# Installs sandbox so that `sandbox ...` works from any directory:
#   PREFIX/bin/sandbox                          the CLI (NativeAOT)
#   PREFIX/lib/sandbox/sandbox-init             PID 1 of every container
#   PREFIX/lib/sandbox/sandbox-initramfs.cpio   the micro-VM guest's initramfs
#   PREFIX/lib/sandbox/vmlinux                  the micro-VM guest's kernel
# The installed CLI finds the last three in ../lib/sandbox beside its own directory (see docs/architecture.md).
# Builds first what is missing or out of date (as ./sandbox does). State (/var/lib/sandbox) is not touched.
#
#   usage: scripts/install.sh [--prefix DIR] [--uninstall]
#   PREFIX (default /usr/local) and DESTDIR (a staging root, as with `make install`) may also come from the environment.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

prefix=${PREFIX:-/usr/local}
uninstall=false
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --uninstall) uninstall=true; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (usage: scripts/install.sh [--prefix DIR] [--uninstall])" ;;
  esac
done
case $prefix in /*) ;; *) die "--prefix must be an absolute path (got '$prefix')" ;; esac
bin="${DESTDIR:-}$prefix/bin"
lib="${DESTDIR:-}$prefix/lib/sandbox"
FILES=(sandbox-init sandbox-initramfs.cpio vmlinux)

if $uninstall; then
  rm -f "$bin/sandbox" "$bin/sandbox-oci" "$bin/sandbox-oci-vm"
  for f in "${FILES[@]}"; do rm -f "$lib/$f"; done
  rmdir "$lib" 2>/dev/null || [ ! -d "$lib" ] || say "left $lib in place: it holds files sandbox did not install"
  say "removed sandbox from $prefix (its state in ${SANDBOX_ROOT:-/var/lib/sandbox} stays: 'sandbox prune', then remove it)"
  exit 0
fi

ensure_packages "${RUNTIME_PACKAGES[@]}"
build_is_current || "$REPO_ROOT/scripts/build.sh"
kernel="$OUT/kernel/current/vmlinux"
[ -f "$kernel" ] || "$REPO_ROOT/kernels/build.sh"
[ -f "$kernel" ] || die "no guest kernel at $kernel after kernels/build.sh"

mkdir -p "$bin" "$lib"
# Each file is copied beside its target and renamed over it: a sandbox running from the old binary is not disturbed.
put() { # put SRC DEST MODE
  cp "$1" "$2.new.$$" && chmod "$3" "$2.new.$$" && mv -f "$2.new.$$" "$2" || { rm -f "$2.new.$$"; die "cannot install $2"; }
}
put "$OUT/bin/sandbox-init" "$lib/sandbox-init" 0755
put "$OUT/bin/sandbox-initramfs.cpio" "$lib/sandbox-initramfs.cpio" 0644
put "$(readlink -f "$kernel")" "$lib/vmlinux" 0644
put "$OUT/bin/sandbox" "$bin/sandbox" 0755
# The OCI runtime (podman --runtime, containerd's BinaryName) is the same binary by two more names (docs/oci-runtime.md).
ln -sfn sandbox "$bin/sandbox-oci"
ln -sfn sandbox "$bin/sandbox-oci-vm"
say "installed sandbox in $bin and its init, initramfs and guest kernel in $lib"
# The micro-VM backend talks to libvirtd; without systemd nothing starts it at boot.
[ -S /run/libvirt/libvirt-sock ] || say "for --vm, libvirtd must run: scripts/start-libvirtd.sh starts it on hosts without systemd"
