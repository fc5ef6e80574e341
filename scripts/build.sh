#!/usr/bin/env bash
# Publishes the `sandbox` CLI and `sandbox-init` (both NativeAOT) into out/bin when the sources changed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

stamp="$OUT/bin/.stamp"
if [ -f "$stamp" ] && [ -x "$OUT/bin/sandbox" ] && [ -x "$OUT/bin/sandbox-init" ] && [ -f "$OUT/bin/sandbox-initramfs.cpio" ] && \
   [ -z "$(find "$REPO_ROOT/src" "$REPO_ROOT/Directory.Build.props" "$REPO_ROOT/Directory.Packages.props" -newer "$stamp" \
          -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)" ]; then
  exit 0
fi
command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is not installed"
mkdir -p "$OUT/bin"
say "building sandbox-init (NativeAOT)"
dotnet publish "$REPO_ROOT/src/Sandbox.Init/Sandbox.Init.csproj" -c Release -o "$OUT/bin" --nologo -v quiet -clp:ErrorsOnly >&2
say "building the micro-VM guest's initramfs"
"$REPO_ROOT/scripts/build-initramfs.sh" "$OUT/bin/sandbox-init" "$OUT/bin/sandbox-initramfs.cpio"
say "building sandbox (NativeAOT)"
dotnet publish "$REPO_ROOT/src/Sandbox.Cli/Sandbox.Cli.csproj" -c Release -o "$OUT/bin" --nologo -v quiet -clp:ErrorsOnly >&2
rm -f "$OUT/bin"/*.dbg "$OUT/bin"/*.pdb
touch "$stamp"
