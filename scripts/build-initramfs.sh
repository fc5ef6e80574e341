#!/usr/bin/env bash
# Builds the micro-VM guest's initramfs: sandbox-init (NativeAOT) as /init plus the shared libraries it links
# (found with ldd: glibc's loader, libc, libm), as an uncompressed newc cpio (the guest kernel unpacks it without a
# decompressor, which under TCG is faster than unpacking a compressed one). See docs/microvm.md.
#   usage: build-initramfs.sh [SANDBOX_INIT] [OUTPUT]
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

init=${1:-$OUT/bin/sandbox-init}
output=${2:-$OUT/bin/sandbox-initramfs.cpio}
[ -x "$init" ] || die "sandbox-init not found at $init (run scripts/build.sh)"
command -v cpio >/dev/null || die "cpio is not installed"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{dev,proc,sys,sandbox,tmp}
cp "$init" "$stage/init"
# The workload's init is the same binary started as /sandbox-init (its name in the workload's `ps`, as in a container).
ln -s init "$stage/sandbox-init"
# The libraries at the same paths as on the build host, so the loader's built-in search path finds them.
ldd "$init" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
  mkdir -p "$stage$(dirname "$lib")"
  cp -L "$lib" "$stage$lib"
done
# NativeAOT resolves DllImport("libc") by trying "libc.so" first; give it the real library under that name.
libc=$(ldd "$init" | awk '/libc\.so\.6 => / { print $3 }')
[ -n "$libc" ] && ln -sf libc.so.6 "$stage$(dirname "$libc")/libc.so"
# The kernel opens /dev/console for init's stdio before init mounts devtmpfs.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true

mkdir -p "$(dirname "$output")"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) > "$output.tmp"
mv "$output.tmp" "$output"
