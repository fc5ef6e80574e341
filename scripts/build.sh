#!/usr/bin/env bash
# Publishes the `sandbox` CLI and `sandbox-init` (both NativeAOT) into out/bin when the sources changed
# (build_is_current in lib.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

build_is_current && exit 0
command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is not installed"
mkdir -p "$OUT/bin"
# The stamp takes the time the build starts, so that a source edited during the build counts as changed. dotnet makes
# bin/ and obj/ in each project: made first, they do not count as a change of the project's directory.
for project in "$REPO_ROOT"/src/*/; do mkdir -p "$project/bin" "$project/obj"; done
rm -f "$BUILD_STAMP"
: > "$BUILD_STAMP.new"

say "building sandbox-init (NativeAOT)"
dotnet publish "$REPO_ROOT/src/Sandbox.Init/Sandbox.Init.csproj" -c Release -o "$OUT/bin" --nologo -v quiet -clp:ErrorsOnly >&2
say "building the micro-VM guest's initramfs"
"$REPO_ROOT/scripts/build-initramfs.sh" "$OUT/bin/sandbox-init" "$OUT/bin/sandbox-initramfs.cpio"
say "building sandbox (NativeAOT)"
dotnet publish "$REPO_ROOT/src/Sandbox.Cli/Sandbox.Cli.csproj" -c Release -o "$OUT/bin" --nologo -v quiet -clp:ErrorsOnly >&2
rm -f "$OUT/bin"/*.dbg "$OUT/bin"/*.pdb
# The OCI runtime is the same binary under two more names, dispatched on argv[0] (docs/oci-runtime.md).
ln -sfn sandbox "$OUT/bin/sandbox-oci"
ln -sfn sandbox "$OUT/bin/sandbox-oci-vm"

record_build_inputs
mv "$BUILD_STAMP.new" "$BUILD_STAMP"
