// sandbox_native: the only code that runs between fork/clone and execve.
//
// A .NET process is multithreaded from its first instruction, so managed code after a bare fork() is unsafe (locks
// held by other threads, GC state) and unshare(CLONE_NEWUSER) fails with EINVAL. Everything a child does before
// execve therefore lives here, and uses only raw system calls and async-signal-safe libc wrappers: no malloc, no
// stdio, no locks. The parent-side halves are ordinary C called through P/Invoke. See docs/process-model.md.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define SBX_EXPORT __attribute__((visibility("default")))

// ---------------------------------------------------------------------------------------------------------------
// Helpers usable in a child (async-signal-safe).

// Credentials through raw system calls: glibc's setresuid/setgroups wrappers broadcast the change to every thread
// the parent had (__nptl_setxid), taking locks another parent thread may have held at clone time — a deadlock in a
// child that only has one thread. The raw call changes the calling thread, which here is the whole process.
static int raw_setresuid(uid_t u) { return (int)syscall(SYS_setresuid, u, u, u); }
static int raw_setresgid(gid_t g) { return (int)syscall(SYS_setresgid, g, g, g); }
static int raw_setgroups(size_t n, const gid_t *groups) { return (int)syscall(SYS_setgroups, n, groups); }

static int move_fds_high(int *fds, int n)
{
    // dup every wanted fd above the target range first, so dup2 onto 0..n-1 never clobbers a later source.
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0) continue;
        int high = fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
        if (high < 0) return -1;
        fds[i] = high;
    }
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0) continue;
        if (dup2(fds[i], i) < 0) return -1; // dup2 clears FD_CLOEXEC on the target
    }
    return 0;
}

static void reset_signals(void)
{
    // The runtime installed handlers and ignores SIGPIPE; execve keeps ignored signals ignored, so reset everything.
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &sa, NULL); // errors for the reserved realtime signals are harmless
    }
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        len -= (size_t)n;
    }
}

static int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, p + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += (size_t)n;
    }
    return (int)done;
}

// A child's failure report: which step failed and its errno.
struct sbx_failure {
    int32_t step;
    int32_t err;
};

static _Noreturn void fail_child(int report_fd, int step)
{
    struct sbx_failure f = { step, errno };
    write_all(report_fd, &f, sizeof f);
    _exit(125);
}

// ---------------------------------------------------------------------------------------------------------------
// Host side: clone straight into new namespaces and exec sandbox-init.

struct sbx_spawn_args {
    const char *path;          // sandbox-init
    char *const *argv;
    char *const *envp;
    int32_t fds[5];            // become the child's fds 0..4 (-1: that number stays closed)
    int32_t fd_count;
    uint64_t clone_flags;      // CLONE_NEW* (CLONE_NEWCGROUP is applied after the release, see below)
    int32_t ns_fds[4];         // namespaces to join (setns) before the exec: an OCI config's net/ipc/uts paths
    int32_t ns_count;
};

// Steps reported by the init child.
enum { SPAWN_SYNC = 1, SPAWN_IDS, SPAWN_FDS, SPAWN_CGROUPNS, SPAWN_EXEC, SPAWN_SETNS };

// Clones a child in new namespaces. The child waits on a pipe until the parent has placed it in its cgroups and
// written its uid/gid maps (sbx_release), then enters a new cgroup namespace (so its cgroup root is the sandbox's
// cgroup) and execs sandbox-init. Returns the pid, or -1 with errno; *pidfd gets a pidfd for the child,
// *release_fd the write end of the sync pipe, *report_fd the read end of the child's failure pipe.
// Closes every fd but the two pipe ends and the fds the child will place or join (no allocation: a sorted array).
static void keep_only_fds(int sync_fd, int report_fd, const struct sbx_spawn_args *a)
{
    int keep[2 + 5 + 4];
    int n = 0;
    keep[n++] = sync_fd;
    keep[n++] = report_fd;
    for (int i = 0; i < a->fd_count && i < 5; i++) if (a->fds[i] >= 0) keep[n++] = a->fds[i];
    for (int i = 0; i < a->ns_count && i < 4; i++) if (a->ns_fds[i] >= 0) keep[n++] = a->ns_fds[i];
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) { int t = keep[j]; keep[j] = keep[j - 1]; keep[j - 1] = t; }
    unsigned next = 0;
    for (int i = 0; i < n; i++) {
        if ((unsigned)keep[i] > next) syscall(SYS_close_range, next, (unsigned)keep[i] - 1, 0U);
        if ((unsigned)keep[i] + 1 > next) next = (unsigned)keep[i] + 1;
    }
    syscall(SYS_close_range, next, ~0U, 0U);
}

SBX_EXPORT int sbx_spawn_init(const struct sbx_spawn_args *a, int *pidfd, int *release_fd, int *report_fd)
{
    int sync[2], report[2];
    if (pipe2(sync, O_CLOEXEC) < 0) return -1;
    if (pipe2(report, O_CLOEXEC) < 0) {
        int e = errno;
        close(sync[0]); close(sync[1]);
        errno = e;
        return -1;
    }
    int wants_cgroupns = (a->clone_flags & CLONE_NEWCGROUP) != 0;
    uint64_t flags = (a->clone_flags & ~(uint64_t)CLONE_NEWCGROUP) | CLONE_PIDFD | SIGCHLD;
    int child_pidfd = -1;
    // Raw clone (no CLONE_VM): a fork-like copy in new namespaces. glibc's fork() would run atfork handlers; this
    // does not. clone with CLONE_NEWUSER is allowed from a multithreaded process (unshare is not).
    long pid = syscall(SYS_clone, (unsigned long)flags, NULL, &child_pidfd, NULL, 0UL);
    if (pid < 0) {
        int e = errno;
        close(sync[0]); close(sync[1]); close(report[0]); close(report[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        // Child: single-threaded copy of the parent. Raw system calls only from here on.
        close(sync[1]);
        close(report[0]);
        // Drop every fd of the parent's it does not use, now rather than at the exec: a copy of a file description
        // keeps its flock, and a child that waits (or is not scheduled for a while on a loaded host) after its parent
        // was killed must not hold the parent's locks (the sandbox's owner lock: the reaper would think it owned).
        keep_only_fds(sync[0], report[1], a);
        char go;
        if (read_full(sync[0], &go, 1) != 1) _exit(125); // parent gave up or died: leave quietly
        close(sync[0]);
        // Join the namespaces named by path (their fds are not among 0..4 and are closed on exec below).
        for (int i = 0; i < a->ns_count && i < 4; i++)
            if (setns(a->ns_fds[i], 0) < 0) fail_child(report[1], SPAWN_SETNS);
        if (a->clone_flags & CLONE_NEWUSER) {
            // Become root of the new user namespace so execve keeps the namespace's capabilities.
            if (raw_setresgid(0) < 0 || raw_setresuid(0) < 0) fail_child(report[1], SPAWN_IDS);
            if (raw_setgroups(0, NULL) < 0) fail_child(report[1], SPAWN_IDS);
        }
        if (wants_cgroupns && unshare(CLONE_NEWCGROUP) < 0) fail_child(report[1], SPAWN_CGROUPNS);
        int fds[5];
        int n = a->fd_count > 5 ? 5 : a->fd_count;
        for (int i = 0; i < n; i++) fds[i] = a->fds[i];
        if (move_fds_high(fds, n) < 0) fail_child(report[1], SPAWN_FDS);
        for (int i = 0; i < n; i++) if (fds[i] < 0) close(i);
        // Everything else the runtime had open must not leak into the sandbox.
        if (syscall(SYS_close_range, (unsigned)n, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail_child(report[1], SPAWN_FDS);
        reset_signals();
        // sandbox-init reaps with a signalfd: it starts with SIGCHLD blocked in every thread it will create.
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigprocmask(SIG_SETMASK, &set, NULL);
        execve(a->path, a->argv, a->envp);
        fail_child(report[1], SPAWN_EXEC);
    }
    close(sync[0]);
    close(report[1]);
    *pidfd = child_pidfd;
    *release_fd = sync[1];
    *report_fd = report[0];
    return (int)pid;
}

// Lets the child go on and waits until it has exec'd sandbox-init (the report pipe closes on exec) or failed.
// Returns 0, or the failed step (>0) with *err set to its errno.
SBX_EXPORT int sbx_release(int release_fd, int report_fd, int *err)
{
    char go = 1;
    write_all(release_fd, &go, 1);
    close(release_fd);
    struct sbx_failure f;
    int n = read_full(report_fd, &f, sizeof f);
    close(report_fd);
    if (n == (int)sizeof f) {
        *err = f.err;
        return f.step;
    }
    *err = 0;
    return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Init side: fork the workload and turn it into the sandboxed process.

struct sbx_rlimit {
    int32_t resource;           // RLIMIT_*
    int32_t pad;
    uint64_t soft;              // RLIM_INFINITY = ~0
    uint64_t hard;
};

struct sbx_exec_args {
    const char *path;           // resolved executable
    char *const *argv;
    char *const *envp;
    const char *cwd;
    int32_t stdio[3];           // become 0, 1, 2
    int32_t tty;                // 1: new session with fd 0 as controlling terminal
    uint32_t uid;
    uint32_t gid;
    int32_t ngroups;
    const gid_t *groups;
    uint64_t cap_bounding;      // capabilities kept in the bounding set
    uint64_t cap_effective;     // effective = permitted after the uid change
    int32_t no_new_privs;
    int32_t oom_score_adj;      // the workload's (init runs with a lower one); INT32_MIN: leave
    uint16_t seccomp_len;       // number of BPF instructions; 0: no filter
    const struct sock_filter *seccomp;
    int32_t nrlimits;           // setrlimit entries, applied first (raising a hard limit needs CAP_SYS_RESOURCE)
    const struct sbx_rlimit *rlimits;
    int32_t explicit_caps;      // 1: an OCI config's sets below (permitted, inheritable, ambient) instead of eff = perm
    uint64_t cap_permitted;
    uint64_t cap_inheritable;
    uint64_t cap_ambient;
    int32_t umask;              // -1: leave
    int32_t nextra_fds;         // --preserve-fds: these become 3, 4, … (at most SBX_MAX_EXTRA_FDS)
    const int32_t *extra_fds;
};

#define SBX_MAX_EXTRA_FDS 60

enum {
    EXEC_SETSID = 1, EXEC_TTY, EXEC_STDIO, EXEC_BOUNDING, EXEC_GROUPS, EXEC_GID, EXEC_UID, EXEC_CAPS, EXEC_AMBIENT,
    EXEC_NNP, EXEC_CHDIR, EXEC_SECCOMP, EXEC_EXEC, EXEC_OOM, EXEC_RLIMIT,
};

static void write_oom_score_adj(int value)
{
    char buf[16];
    int len = 0, neg = value < 0;
    unsigned v = neg ? (unsigned)(-(long)value) : (unsigned)value;
    char tmp[12];
    int t = 0;
    do { tmp[t++] = (char)('0' + v % 10); v /= 10; } while (v);
    if (neg) buf[len++] = '-';
    while (t) buf[len++] = tmp[--t];
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    write_all(fd, buf, (size_t)len);
    close(fd);
}

// Forks the workload. Returns its pid once it has exec'd, or -1 with *step/*err saying what failed in the child
// (the child is reaped). -1 with *step == 0 means fork itself failed (errno in *err).
SBX_EXPORT int sbx_exec_workload(const struct sbx_exec_args *a, int *step, int *err)
{
    *step = 0;
    *err = 0;
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) { *err = errno; return -1; }
    pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0UL);
    if (pid < 0) {
        *err = errno;
        close(report[0]); close(report[1]);
        return -1;
    }
    if (pid == 0) {
        int r = report[1];
        close(report[0]);
        if (syscall(SYS_setsid) < 0) fail_child(r, EXEC_SETSID);
        int nextra = a->nextra_fds > SBX_MAX_EXTRA_FDS ? SBX_MAX_EXTRA_FDS : a->nextra_fds;
        int fds[3 + SBX_MAX_EXTRA_FDS] = { a->stdio[0], a->stdio[1], a->stdio[2] };
        for (int i = 0; i < nextra; i++) fds[3 + i] = a->extra_fds[i];
        if (move_fds_high(fds, 3 + nextra) < 0) fail_child(r, EXEC_STDIO);
        if (a->tty && ioctl(0, TIOCSCTTY, 0) < 0) fail_child(r, EXEC_TTY);
        if (syscall(SYS_close_range, (unsigned)(3 + nextra), ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail_child(r, EXEC_STDIO);
        if (a->oom_score_adj != INT32_MIN) write_oom_score_adj(a->oom_score_adj);
        for (int i = 0; i < a->nrlimits; i++) {
            uint64_t lim[2] = { a->rlimits[i].soft, a->rlimits[i].hard };
            if (syscall(SYS_prlimit64, 0, a->rlimits[i].resource, lim, NULL) < 0) fail_child(r, EXEC_RLIMIT);
        }
        // Without no_new_privs only CAP_SYS_ADMIN may load a filter: then it goes on now, before the capabilities
        // are dropped (runc's order too), and must allow what follows (the OCI configs' profiles do).
        int seccomp_early = !a->no_new_privs && a->seccomp_len > 0;
        if (seccomp_early) {
            struct sock_fprog prog = { a->seccomp_len, (struct sock_filter *)a->seccomp };
            if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) fail_child(r, EXEC_SECCOMP);
        }
        // Keep the permitted set across the uid change; effective is restored by capset below.
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail_child(r, EXEC_CAPS);
        for (int cap = 0; cap <= 63; cap++) {
            if (a->cap_bounding & (1ULL << cap)) continue;
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail_child(r, EXEC_BOUNDING);
        }
        if (raw_setgroups((size_t)a->ngroups, a->groups) < 0) fail_child(r, EXEC_GROUPS);
        if (raw_setresgid(a->gid) < 0) fail_child(r, EXEC_GID);
        if (raw_setresuid(a->uid) < 0) fail_child(r, EXEC_UID);
        struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct data[2];
        memset(data, 0, sizeof data);
        data[0].effective = data[0].permitted = (uint32_t)a->cap_effective;
        data[1].effective = data[1].permitted = (uint32_t)(a->cap_effective >> 32);
        if (a->explicit_caps) {
            data[0].permitted = (uint32_t)a->cap_permitted;
            data[1].permitted = (uint32_t)(a->cap_permitted >> 32);
            data[0].inheritable = (uint32_t)a->cap_inheritable;
            data[1].inheritable = (uint32_t)(a->cap_inheritable >> 32);
        }
        if (syscall(SYS_capset, &hdr, data) < 0) fail_child(r, EXEC_CAPS);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) fail_child(r, EXEC_AMBIENT);
        if (a->explicit_caps)
            for (int cap = 0; cap <= 63; cap++)
                // EPERM: not in both permitted and inheritable (runc's default spec asks for that); runc goes on too.
                if ((a->cap_ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 && errno != EPERM)
                    fail_child(r, EXEC_AMBIENT);
        if (a->umask >= 0) umask((mode_t)a->umask);
        if (a->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail_child(r, EXEC_NNP);
        if (a->cwd && chdir(a->cwd) < 0) fail_child(r, EXEC_CHDIR);
        reset_signals();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        // The filter goes on last: from here on only execve must still be allowed.
        if (a->seccomp_len > 0 && !seccomp_early) {
            struct sock_fprog prog = { a->seccomp_len, (struct sock_filter *)a->seccomp };
            if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) fail_child(r, EXEC_SECCOMP);
        }
        execve(a->path, a->argv, a->envp);
        fail_child(r, EXEC_EXEC);
    }
    close(report[1]);
    struct sbx_failure f;
    int n = read_full(report[0], &f, sizeof f);
    close(report[0]);
    if (n == (int)sizeof f) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
        *step = f.step;
        *err = f.err;
        return -1;
    }
    return pid;
}
