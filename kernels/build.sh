#!/usr/bin/env bash
# Builds the Sandbox guest kernel from Debian's linux-source-6.1 into a cache:
#   ${SANDBOX_KERNEL_CACHE:-<repo>/out/kernel}/<hash>/{vmlinux,bzImage,config}
# <hash> covers the config fragment, the source package version and this script, so any change builds anew
# and an unchanged one exits at once. <cache>/current points at the last good build.
# The extracted source (<cache>/src/<version>) and the object tree (<cache>/obj/<version>) are kept, so a
# rebuild after a config change neither re-extracts nor recompiles what did not change.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib.sh"

KERNELS_DIR="$REPO_ROOT/kernels"
# SANDBOX_KERNEL_FRAGMENT: another fragment (experiments, the survival check's own test); default the product's.
FRAGMENT="$(readlink -f "${SANDBOX_KERNEL_FRAGMENT:-$KERNELS_DIR/sandbox.config}")"
[ -f "$FRAGMENT" ] || die "kernel config fragment $FRAGMENT missing"
SOURCE_PACKAGE=linux-source-6.1
SOURCE_TARBALL=/usr/src/linux-source-6.1.tar.xz
CACHE="${SANDBOX_KERNEL_CACHE:-$OUT/kernel}"

ensure_packages "${KERNEL_PACKAGES[@]}"
[ -f "$SOURCE_TARBALL" ] || die "kernel source $SOURCE_TARBALL missing (package $SOURCE_PACKAGE)"
SOURCE_VERSION=$(dpkg-query -W -f='${Version}' "$SOURCE_PACKAGE")

HASH=$( { printf '%s %s\n' "$SOURCE_PACKAGE" "$SOURCE_VERSION"; cat "$FRAGMENT" "$KERNELS_DIR/build.sh"; } \
  | sha256sum | cut -c1-16)
RESULT="$CACHE/$HASH"

# point_current: atomically repoint <cache>/current at $HASH (rename(2) over the old link).
point_current() {
  ln -sfn "$HASH" "$CACHE/.current.$$"
  mv -T "$CACHE/.current.$$" "$CACHE/current"
}

if [ -f "$RESULT/vmlinux" ] && [ -f "$RESULT/bzImage" ] && [ -f "$RESULT/config" ]; then
  [ "$(readlink "$CACHE/current" 2>/dev/null)" = "$HASH" ] || point_current
  say "kernel $HASH is cached ($RESULT)"
  exit 0
fi

mkdir -p "$CACHE"
# One build at a time per cache: a second caller waits, then finds the result cached.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  say "kernel: another build holds $CACHE/.lock; waiting"
  flock 9
fi
if [ -f "$RESULT/vmlinux" ] && [ -f "$RESULT/bzImage" ] && [ -f "$RESULT/config" ]; then
  point_current
  say "kernel $HASH was built meanwhile ($RESULT)"
  exit 0
fi

SRC_PARENT="$CACHE/src/$SOURCE_VERSION"
SRC="$SRC_PARENT/linux-source-6.1"
OBJ="$CACHE/obj/$SOURCE_VERSION"
STAGE="$CACHE/.stage-$HASH.$$"
EXTRACT="$CACHE/src/.extract-$SOURCE_VERSION.$$"
LOG="$CACHE/build-$HASH.log"

MAKE_PID=""
cleanup() {
  local rc=$?
  if [ -n "$MAKE_PID" ]; then kill -TERM -- "-$MAKE_PID" 2>/dev/null || true; wait "$MAKE_PID" 2>/dev/null || true; fi
  rm -rf "$STAGE" "$EXTRACT" "$CACHE/.current.$$"
  if [ $rc -ne 0 ]; then
    printf 'sandbox setup: kernel build failed (exit %s); log: %s\n' "$rc" "$LOG" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START=$(date +%s)

if [ ! -f "$SRC/Makefile" ]; then
  say "kernel: extracting $SOURCE_TARBALL ($SOURCE_VERSION) into $SRC_PARENT"
  rm -rf "$EXTRACT"
  mkdir -p "$EXTRACT"
  tar -xJf "$SOURCE_TARBALL" -C "$EXTRACT"
  [ -f "$EXTRACT/linux-source-6.1/Makefile" ] || die "unexpected layout in $SOURCE_TARBALL"
  rm -rf "$SRC_PARENT"
  mkdir -p "$(dirname "$SRC_PARENT")"
  mv -T "$EXTRACT" "$SRC_PARENT"
fi

mkdir -p "$OBJ"
: >"$LOG"
say "kernel: configuring (allnoconfig + ${FRAGMENT#"$REPO_ROOT"/})"
make -s -C "$SRC" O="$OBJ" KCONFIG_ALLCONFIG="$FRAGMENT" allnoconfig >>"$LOG" 2>&1 \
  || { tail -n 30 "$LOG" >&2; die "kernel configuration failed"; }

# Kconfig silently drops an option whose dependencies are off: every fragment line must be in the result.
say "kernel: checking that every fragment line survived"
dropped=()
while IFS= read -r line; do
  line="${line%%[[:space:]]}"
  case "$line" in
    CONFIG_*=*)
      grep -qxF -- "$line" "$OBJ/.config" || dropped+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$OBJ/.config" || echo absent))") ;;
    "# CONFIG_"*" is not set")
      sym="${line#\# }"; sym="${sym%% *}"
      if grep -qE "^${sym}=" "$OBJ/.config"; then dropped+=("$line (got: $(grep -E "^${sym}=" "$OBJ/.config"))"); fi ;;
  esac
done <"$FRAGMENT"
if [ ${#dropped[@]} -gt 0 ]; then
  printf '  dropped by Kconfig: %s\n' "${dropped[@]}" >&2
  die "kernel config: ${#dropped[@]} fragment line(s) did not survive (dependencies off?)"
fi

JOBS=$(nproc)
say "kernel: building vmlinux and bzImage (make -j$JOBS; full log in $LOG)"
# kbuild prints one line per step; show a heartbeat every 200 steps and every link step instead of thousands.
# make runs in its own session so that an interrupted build can stop all of it (sub-makes waiting on the
# jobserver otherwise outlive a Ctrl-C); the terminal follows the log.
setsid make -C "$SRC" O="$OBJ" -j"$JOBS" vmlinux bzImage >>"$LOG" 2>&1 </dev/null &
MAKE_PID=$!
tail -n +1 --pid="$MAKE_PID" -f "$LOG" | awk '
  / error: |\*\*\* |Error [0-9]/ { print "    " $0; fflush(); next }
  /^  (LD|OBJCOPY|AR)  .*(vmlinux|bzImage)/ || /Kernel: .* is ready/ { print "    " $0; fflush(); next }
  /^  [A-Z]/ { n++; if (n % 200 == 0) { printf "    ... %d steps (%s)\n", n, $NF; fflush() } }
  END { printf "    %d build steps\n", n }' >&2 || true
set +e
wait "$MAKE_PID"
rc=$?
set -e
MAKE_PID=""
if [ "$rc" -ne 0 ]; then
  tail -n 40 "$LOG" >&2
  die "kernel build failed (make exit $rc)"
fi

say "kernel: installing into $RESULT"
mkdir -p "$STAGE"
cp "$OBJ/vmlinux" "$STAGE/vmlinux"
cp "$OBJ/arch/x86/boot/bzImage" "$STAGE/bzImage"
cp "$OBJ/.config" "$STAGE/config"
printf '%s %s\n' "$SOURCE_PACKAGE" "$SOURCE_VERSION" >"$STAGE/source-version"
rm -rf "$RESULT"
mv -T "$STAGE" "$RESULT"
point_current
size() { numfmt --to=iec --suffix=B "$(stat -c %s "$1")"; }
say "kernel $HASH built in $(( $(date +%s) - START )) s: vmlinux $(size "$RESULT/vmlinux"), bzImage $(size "$RESULT/bzImage")"
