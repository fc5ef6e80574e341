# Shared helpers for the set-up scripts (sourced, not run).
# Progress goes to stderr so that `sandbox run` output on stdout stays the workload's alone.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$REPO_ROOT/out"

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'sandbox setup: %s\n' "$*" >&2; exit 125; }

# ensure_packages PKG... : apt-get install what is missing, once, with progress.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root to install them"
  say "installing ${missing[*]}"
  if [ ! -f /var/lib/apt/periodic/sandbox-updated ] && [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    apt-get update -q >&2 || die "apt-get update failed"
    mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/sandbox-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
}

# launcher_scan ARGS... : what `sandbox ARGS...` needs set up before the CLI runs, from the CLI's own options only,
# never from the workload's arguments (`run busybox echo --vm` is a container run). Sets LAUNCHER_NEEDS to
#   vm    (libvirtd and the guest kernel)   for run/create with --vm before the image
#   info  (libvirtd)                        for info
#   bench (libvirtd, both guest kernels)    for bench
# or to nothing. Reads the command line the way the CLI does (src/Sandbox.Cli/ArgReader.cs): options that take a
# value consume the next argument unless given as --opt=value or -oVALUE; `--` or the first positional ends them.
# The value-taking options must match GlobalOptions.Specs and RunCommand.Specs (a test in Sandbox.Cli.Tests checks).
LAUNCHER_GLOBAL_VALUE_OPTIONS=" --root --libvirt-uri "
LAUNCHER_RUN_VALUE_OPTIONS=" --name --env -e --env-file --workdir -w --user -u --hostname -h --entrypoint --volume -v --memory -m --cpus --pids-limit --network --net "
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

# Packages the product needs at run time (container and micro-VM backends).
RUNTIME_PACKAGES=(busybox-static libvirt0 libvirt-daemon-system libvirt-clients qemu-system-x86 tini gcc libc6-dev cpio)
# Packages the guest kernel build needs.
KERNEL_PACKAGES=(linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils make gcc)
# Packages only the tests and benchmarks need (third-party tools the tests compare against).
TEST_PACKAGES=(umoci skopeo runc erofs-utils e2fsprogs zstd hyperfine)
