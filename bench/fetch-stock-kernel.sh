#!/usr/bin/env bash
# Fetches Debian's stock kernel (the package linux-image-amd64 points at) into out/stock-kernel/vmlinuz, for the
# "plain qemu with the stock kernel" peer of `sandbox bench`. Downloads the .deb and extracts it; installs nothing.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

dest="$OUT/stock-kernel"
[ -f "$dest/vmlinuz" ] && exit 0
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$pkg" ] || { apt-get update -q >&2; pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}'); }
[ -n "$pkg" ] || die "cannot find Debian's stock kernel package"
say "fetching Debian's stock kernel ($pkg) for the benchmark peer"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q "$pkg" >&2)
dpkg-deb -x "$tmp"/*.deb "$tmp/x"
mkdir -p "$dest"
cp "$tmp"/x/boot/vmlinuz-* "$dest/vmlinuz.tmp"
mv "$dest/vmlinuz.tmp" "$dest/vmlinuz"
echo "$pkg" > "$dest/PACKAGE"
