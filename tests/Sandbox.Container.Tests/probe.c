// A static probe run inside the sandbox: tries what the seccomp filter must refuse and prints each errno.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/reboot.h>

static void report(const char *name, long r) { printf("%s=%s\n", name, r < 0 ? strerrorname_np(errno) : "OK"); }

int main(void)
{
    report("mount", mount("none", "/mnt", "tmpfs", 0, NULL));
    report("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL));
    report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
    report("unshare_user", unshare(CLONE_NEWUSER));
    report("clone3", syscall(SYS_clone3, NULL, 0));
    report("ptrace", syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0));
    report("bpf", syscall(SYS_bpf, 0, NULL, 0));
    report("personality_bad", syscall(SYS_personality, 0x0400000 /* READ_IMPLIES_EXEC */));
    report("getpid", syscall(SYS_getpid));
    return 0;
}
