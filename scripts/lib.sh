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

# Packages the product needs at run time (container and micro-VM backends; bridge networks: the CNI plugins and the
# iptables they run).
RUNTIME_PACKAGES=(busybox-static libvirt0 libvirt-daemon-system libvirt-clients qemu-system-x86 tini gcc libc6-dev cpio
                  containernetworking-plugins iptables)
# Packages the guest kernel build needs.
KERNEL_PACKAGES=(linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils make gcc)
# Packages only the tests and benchmarks need (third-party tools the tests compare against).
TEST_PACKAGES=(umoci skopeo runc erofs-utils e2fsprogs zstd hyperfine iproute2 iperf3)
