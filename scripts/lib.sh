# Shared helpers for the set-up scripts (sourced, not run).
# Progress goes to stderr so that `sandbox run` output on stdout stays the workload's alone.

# Without a subshell: the launcher sources this on every call.
REPO_ROOT=${BASH_SOURCE[0]%/*}
case $REPO_ROOT in
  "${BASH_SOURCE[0]}") REPO_ROOT=$PWD/.. ;;   # sourced as plain lib.sh, from scripts/
  /*) REPO_ROOT=$REPO_ROOT/.. ;;
  *) REPO_ROOT=$PWD/$REPO_ROOT/.. ;;
esac
REPO_ROOT=${REPO_ROOT%/scripts/..}
OUT="$REPO_ROOT/out"

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'sandbox setup: %s\n' "$*" >&2; exit 125; }

# ensure_packages PKG... : apt-get install what is missing, once, with progress. A stamp records each package set
# found installed; while dpkg's database has not changed since, the set is taken as installed without asking dpkg
# (the launcher runs this on every call: a stat instead of one dpkg-query per package).
PACKAGES_STAMP="$OUT/.packages-installed"
DPKG_STATUS=/var/lib/dpkg/status
ensure_packages() {
  local line
  if [ -f "$PACKAGES_STAMP" ] && [ "$PACKAGES_STAMP" -nt "$DPKG_STATUS" ]; then
    while IFS= read -r line; do
      [ "$line" = "$*" ] && return 0
    done < "$PACKAGES_STAMP"
  fi
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    record_packages "$@"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root to install them"
  say "installing ${missing[*]}"
  if [ ! -f /var/lib/apt/periodic/sandbox-updated ] && [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    apt-get update -q >&2 || die "apt-get update failed"
    mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/sandbox-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
  record_packages "$@"
}

# record_packages PKG... : notes the set as installed (the stamp is dropped as a whole once dpkg's database changes).
record_packages() {
  { mkdir -p "$OUT" && { [ "$PACKAGES_STAMP" -nt "$DPKG_STATUS" ] || : > "$PACKAGES_STAMP"; } &&
    printf '%s\n' "$*" >> "$PACKAGES_STAMP"; } 2>/dev/null || true
}

# What out/bin is built from, relative to REPO_ROOT: every file and directory listed here (scripts/build.sh writes
# the list after each build) is compared with the build's stamp. A changed file is newer; an added, removed or
# renamed one makes its directory newer. So the check is one stat per entry, with no walk and no process started.
BUILD_INPUTS=(src Directory.Build.props Directory.Packages.props global.json scripts/build.sh scripts/build-initramfs.sh)
BUILD_STAMP="$OUT/bin/.stamp"
BUILD_MANIFEST="$OUT/bin/.inputs"

# build_is_current : true when out/bin holds both binaries and the initramfs, built from the sources as they are.
build_is_current() {
  [ -f "$BUILD_STAMP" ] && [ -f "$BUILD_MANIFEST" ] && [ -x "$OUT/bin/sandbox" ] && [ -x "$OUT/bin/sandbox-init" ] &&
    [ -f "$OUT/bin/sandbox-initramfs.cpio" ] || return 1
  local path paths
  mapfile -t paths < "$BUILD_MANIFEST"
  for path in "${paths[@]}"; do
    [[ $REPO_ROOT/$path -nt $BUILD_STAMP ]] && return 1
    # A file in a directory that is gone makes its directory newer; a top-level input that is gone has none.
    [[ $path == */* || -e $REPO_ROOT/$path ]] || return 1
  done
  return 0
}

# record_build_inputs : writes the list build_is_current checks (after a build; bin/ and obj/ of projects are outputs).
record_build_inputs() {
  local input inputs=()
  for input in "${BUILD_INPUTS[@]}"; do [ -e "$REPO_ROOT/$input" ] && inputs+=("$input"); done
  (cd "$REPO_ROOT" && find "${inputs[@]}" \( -path 'src/*/bin' -o -path 'src/*/obj' \) -prune -o -print) > "$BUILD_MANIFEST.new"
  mv "$BUILD_MANIFEST.new" "$BUILD_MANIFEST"
}

# launcher_scan ARGS... : what `sandbox ARGS...` needs set up before the CLI runs, from the CLI's own options only,
# never from the workload's arguments (`run busybox echo --vm` is a container run). Sets LAUNCHER_NEEDS to
#   vm    (libvirtd and the guest kernel)   for run/create with --vm before the image
#   info  (libvirtd)                        for info
#   bench (libvirtd, both guest kernels)    for bench
#   vm                                      for pool fill (boots micro-VMs) and pool drain (libvirtd)
# or to nothing. Reads the command line the way the CLI does (src/Sandbox.Cli/ArgReader.cs): options that take a
# value consume the next argument unless given as --opt=value or -oVALUE; `--` or the first positional ends them.
# The value-taking options must match GlobalOptions.Specs and RunCommand.Specs (a test in Sandbox.Cli.Tests checks).
LAUNCHER_GLOBAL_VALUE_OPTIONS=" --root --libvirt-uri "
LAUNCHER_RUN_VALUE_OPTIONS=" --name --env -e --env-file --workdir -w --user -u --hostname -h --entrypoint --volume -v --memory -m --cpus --pids-limit --network --net --publish -p --dns --add-host --ip --pull --tls-verify --cert-dir --authfile --ulimit "
launcher_scan() {
  LAUNCHER_NEEDS=
  local a command=
  while [ $# -gt 0 ]; do
    a=$1; shift
    case $a in
      --) command=${1-}; [ $# -gt 0 ] && shift; break ;;
      --*=*) ;;
      -?*) [[ $LAUNCHER_GLOBAL_VALUE_OPTIONS == *" $a "* ]] && [ $# -gt 0 ] && shift ;;
      *) command=$a; break ;;
    esac
  done
  case $command in
    info|bench) LAUNCHER_NEEDS=$command; return 0 ;;
    pool) case ${1-} in fill|drain) LAUNCHER_NEEDS=vm ;; esac; return 0 ;;
    run|create) ;;
    *) return 0 ;;
  esac
  local i
  while [ $# -gt 0 ]; do
    a=$1; shift
    case $a in
      --) return 0 ;;
      --vm) LAUNCHER_NEEDS=vm; return 0 ;;
      --*=*) ;;
      --*) [[ $LAUNCHER_RUN_VALUE_OPTIONS == *" $a "* ]] && [ $# -gt 0 ] && shift ;;
      -?*)
        # A group of short flags (-it); a value-taking one takes the rest of the group, or the next argument.
        for ((i = 1; i < ${#a}; i++)); do
          if [[ $LAUNCHER_RUN_VALUE_OPTIONS == *" -${a:i:1} "* ]]; then
            [ $((i + 1)) -eq ${#a} ] && [ $# -gt 0 ] && shift
            break
          fi
        done ;;
      *) return 0 ;;   # the image: what follows is the workload's
    esac
  done
  return 0
}

# Packages the product needs at run time (container and micro-VM backends; bridge networks: the CNI plugins and the
# iptables they run).
RUNTIME_PACKAGES=(busybox-static libvirt0 libvirt-daemon-system libvirt-clients qemu-system-x86 tini gcc libc6-dev cpio
                  containernetworking-plugins iptables)
# Packages the guest kernel build needs.
KERNEL_PACKAGES=(linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils make gcc)
# Packages only the tests and benchmarks need (third-party tools the tests compare against).
TEST_PACKAGES=(umoci skopeo runc erofs-utils e2fsprogs zstd hyperfine docker-registry apache2-utils podman iproute2 iperf3
               conmon containerd tmux golang-github-opencontainers-specs-dev)
