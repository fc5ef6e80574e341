namespace Sandbox.Tests.Shared;

/// <summary>
/// What tests/Sandbox.Container.Tests/probe.c must print under docker's default seccomp profile with docker's default
/// capabilities, the same in a container and in a micro-VM. "EPERM" is the profile's refusal; other answers are the
/// kernel's own, past the filter (ENOSYS for clone3 is the profile's, so that libc falls back to clone).
/// </summary>
internal static class SeccompProbe
{
    public static readonly (string Call, string Result)[] Table =
    [
        ("mount", "EPERM"), ("umount2", "EPERM"), ("reboot", "EPERM"), ("keyctl", "EPERM"), ("add_key", "EPERM"),
        ("unshare_user", "EPERM"), ("unshare_ns", "EPERM"), ("setns", "EPERM"), ("clone_newuser", "EPERM"),
        ("bpf", "EPERM"), ("perf_event_open", "EPERM"), ("kexec_load", "EPERM"), ("init_module", "EPERM"),
        ("syslog", "EPERM"), ("open_by_handle_at", "EPERM"), ("userfaultfd", "EPERM"), ("io_uring_setup", "EPERM"),
        ("sethostname", "EPERM"), ("settimeofday", "EPERM"), ("personality_bad", "EPERM"), ("socket_vsock", "EPERM"),
        ("socket_alg", "EPERM"), ("x32_mount", "EPERM"), ("unknown_syscall", "EPERM"),
        ("clone3", "ENOSYS"),
        ("getpid", "OK"), ("ptrace", "ESRCH"), ("personality_query", "OK"), ("socket_unix", "OK"),
        ("chroot", "ENOENT"), ("mknod_fifo", "OK"),
    ];

    /// <summary>
    /// x32 and i386 calls pass or fail the filter as on x86-64, but whether the kernel then runs them depends on its
    /// build: x32 disabled answers ENOSYS, a kernel without IA32 emulation (the guest's, or a host's that turned it off) kills int 0x80 with SIGSEGV. Whether
    /// the kernel runs i386 calls shows in the allowed one (getpid); the refused one must then be EPERM.
    /// </summary>
    public static (string Call, string Result)[] AbiTable(bool ia32Emulation, bool x32Enabled) =>
    [
        ("x32_getpid", x32Enabled ? "OK" : "ENOSYS"),
        ("i386_getpid", ia32Emulation ? "OK" : "SEGV"),
        ("i386_mount", ia32Emulation ? "EPERM" : "SEGV"),
    ];

    public static Dictionary<string, string> Parse(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);

    /// <summary>Every line of the table, with what was printed where it differs ("" when all match).</summary>
    public static string Mismatches(Dictionary<string, string> got, IEnumerable<(string Call, string Result)> expected) =>
        string.Join("; ", expected.Where(e => !got.TryGetValue(e.Call, out var g) || g != e.Result)
            .Select(e => $"{e.Call}: expected {e.Result}, got {(got.TryGetValue(e.Call, out var g) ? g : "nothing")}"));
}
