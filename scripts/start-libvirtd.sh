#!/usr/bin/env bash
# Starts virtlogd and libvirtd when no libvirt daemon answers (these hosts have no systemd). Idempotent and fast when
# the daemon already runs. See docs/microvm.md ("Set-up").
#
# Both daemons run in the foreground under `tini -s` (a child subreaper), itself detached with setsid. libvirtd
# daemonizes qemu, so a dead qemu is re-parented to the nearest subreaper: tini reaps it at once, where PID 1 on these
# machines reaps orphans only about once a second and libvirt's destroy would wait for it (1.2 s per domain).
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/lib.sh"

SOCK=/run/libvirt/libvirt-sock
LOGDIR=/var/log/libvirt

answers() {
  # A listening unix socket plus a live pid is "answering"; virsh would cost ~50 ms more per call.
  [ -S "$SOCK" ] && [ -f /run/libvirtd.pid ] && kill -0 "$(cat /run/libvirtd.pid 2>/dev/null)" 2>/dev/null
}

answers && exit 0

for tool in libvirtd virtlogd tini; do
  command -v "$tool" >/dev/null || die "$tool is not installed (install libvirt-daemon-system and tini, or run ./sandbox once as root)"
done
[ "$(id -u)" -eq 0 ] || die "libvirtd is not running and only root can start it"

mkdir -p "$LOGDIR" /run/libvirt
# What Debian's udev rule does on a systemd host. With /dev/kvm root-only, libvirt probes qemu with KVM (as root) but
# then finds KVM unusable for its qemu user, calls its capability cache outdated and re-probes qemu (1-2 s) on every
# API call, domain creation included.
if [ -c /dev/kvm ] && getent group kvm >/dev/null; then
  chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi
say "starting virtlogd and libvirtd"

# virtlogd: libvirt hands qemu's stdout/stderr to it. Its own pid file makes a second start a no-op.
if ! { [ -f /run/virtlogd.pid ] && kill -0 "$(cat /run/virtlogd.pid 2>/dev/null)" 2>/dev/null; }; then
  setsid tini -s -- virtlogd --pid-file /run/virtlogd.pid </dev/null >>"$LOGDIR/virtlogd.out" 2>&1 &
fi
# A stale pid file from a killed daemon would make libvirtd refuse to start.
rm -f /run/libvirtd.pid
setsid tini -s -- libvirtd --pid-file /run/libvirtd.pid </dev/null >>"$LOGDIR/libvirtd.out" 2>&1 &
tini_pid=$!

# Wait (up to 15 s) for the socket; libvirtd usually answers within 0.3 s.
for _ in $(seq 150); do
  answers && exit 0
  kill -0 "$tini_pid" 2>/dev/null || break
  sleep 0.1
done
die "libvirtd did not come up (see $LOGDIR/libvirtd.out): $(tail -n 3 "$LOGDIR/libvirtd.out" 2>/dev/null | tr '\n' ' ')"
