namespace Sandbox.Init;

/// <summary>
/// The hardening every workload gets, in the spirit of docker's defaults: its capability set, no_new_privs and a
/// seccomp filter that denies what a container has no business doing (see docs/container-security.md).
/// </summary>
public static class SecurityProfile
{
    /// <summary>docker's default capabilities: CapEff/CapBnd = 0x00000000a80425fb for root.</summary>
    public static readonly ulong DefaultCapabilities = Bits(
        0 /* CHOWN */, 1 /* DAC_OVERRIDE */, 3 /* FOWNER */, 4 /* FSETID */, 5 /* KILL */, 6 /* SETGID */, 7 /* SETUID */,
        8 /* SETPCAP */, 10 /* NET_BIND_SERVICE */, 13 /* NET_RAW */, 18 /* SYS_CHROOT */, 27 /* MKNOD */,
        29 /* AUDIT_WRITE */, 31 /* SETFCAP */);

    private static ulong Bits(params int[] caps) => caps.Aggregate(0UL, (m, c) => m | (1UL << c));

    private const uint AUDIT_ARCH_X86_64 = 0xC000003E;
    private const uint X32_SYSCALL_BIT = 0x40000000;
    private const uint RET_KILL_PROCESS = 0x80000000, RET_ERRNO = 0x00050000, RET_ALLOW = 0x7fff0000;
    private const uint EPERM = 1, ENOSYS = 38;
    // The namespace-creating clone/unshare flags docker refuses without CAP_SYS_ADMIN.
    private const uint NamespaceFlags = 0x7E020000;

    /// <summary>System calls answered with EPERM (x86_64 numbers).</summary>
    public static readonly (int Nr, string Name)[] Denied =
    [
        (165, "mount"), (166, "umount2"), (155, "pivot_root"), (246, "kexec_load"), (320, "kexec_file_load"),
        (175, "init_module"), (313, "finit_module"), (176, "delete_module"), (174, "create_module"),
        (177, "get_kernel_syms"), (178, "query_module"), (321, "bpf"), (298, "perf_event_open"), (250, "keyctl"),
        (248, "add_key"), (249, "request_key"), (323, "userfaultfd"), (304, "open_by_handle_at"),
        (303, "name_to_handle_at"), (169, "reboot"), (167, "swapon"), (168, "swapoff"), (308, "setns"),
        (101, "ptrace"), (163, "acct"), (164, "settimeofday"), (227, "clock_settime"), (305, "clock_adjtime"),
        (159, "adjtimex"), (103, "syslog"), (212, "lookup_dcookie"), (179, "quotactl"), (443, "quotactl_fd"),
        (180, "nfsservctl"), (134, "uselib"), (136, "ustat"), (139, "sysfs"), (156, "_sysctl"), (153, "vhangup"),
        (172, "iopl"), (173, "ioperm"), (279, "move_pages"), (237, "mbind"), (238, "set_mempolicy"),
        (256, "migrate_pages"), (310, "process_vm_readv"), (311, "process_vm_writev"), (312, "kcmp"),
        (300, "fanotify_init"), (428, "open_tree"), (429, "move_mount"), (430, "fsopen"), (431, "fsconfig"),
        (432, "fsmount"), (433, "fspick"), (442, "mount_setattr"), (425, "io_uring_setup"),
        (426, "io_uring_enter"), (427, "io_uring_register"),
    ];

    private const int NrClone = 56, NrUnshare = 272, NrClone3 = 435, NrPersonality = 135;

    /// <summary>personality(2) values docker allows: PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE combinations, the query.</summary>
    private static readonly uint[] SafePersonalities = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

    /// <summary>The default filter, built once: every process init starts gets the same.</summary>
    public static ulong[] SeccompFilter => s_filter ??= BuildSeccompFilter();
    private static ulong[]? s_filter;

    /// <summary>The default filter as classic BPF (struct sock_filter packed into u64s).</summary>
    public static ulong[] BuildSeccompFilter()
    {
        var p = new List<ulong>();
        void Stmt(ushort code, uint k) => p.Add(code | ((ulong)k << 32));
        // Jump to the instruction `rel` after this one when true, otherwise fall through.
        void JeqTo(uint k, byte jt, byte jf) => p.Add(0x15u | ((ulong)jt << 16) | ((ulong)jf << 24) | ((ulong)k << 32));
        void JsetTo(uint k, byte jt, byte jf) => p.Add(0x45u | ((ulong)jt << 16) | ((ulong)jf << 24) | ((ulong)k << 32));
        void JgeTo(uint k, byte jt, byte jf) => p.Add(0x35u | ((ulong)jt << 16) | ((ulong)jf << 24) | ((ulong)k << 32));
        const ushort LdAbs = 0x20, Ret = 0x06;

        // Only native x86_64 calls: other architectures and the x32 ABI kill the process.
        Stmt(LdAbs, 4);                                    // seccomp_data.arch
        JeqTo(AUDIT_ARCH_X86_64, 1, 0);
        Stmt(Ret, RET_KILL_PROCESS);
        Stmt(LdAbs, 0);                                    // seccomp_data.nr
        JgeTo(X32_SYSCALL_BIT, 0, 1);
        Stmt(Ret, RET_KILL_PROCESS);

        foreach (var (nr, _) in Denied)
        {
            JeqTo((uint)nr, 0, 1);
            Stmt(Ret, RET_ERRNO | EPERM);
        }
        // clone3's flags live in memory seccomp cannot read: answer ENOSYS, as docker does, so libc falls back to clone.
        JeqTo(NrClone3, 0, 1);
        Stmt(Ret, RET_ERRNO | ENOSYS);

        // clone and unshare: refuse new namespaces (a user namespace would hand the workload fresh capabilities).
        JeqTo(NrClone, 1, 0);
        JeqTo(NrUnshare, 0, 4);
        Stmt(LdAbs, 16);                                   // args[0], low 32 bits
        JsetTo(NamespaceFlags, 0, 1);
        Stmt(Ret, RET_ERRNO | EPERM);
        Stmt(Ret, RET_ALLOW);

        // personality: only the harmless values.
        JeqTo(NrPersonality, 0, (byte)(SafePersonalities.Length + 2));
        Stmt(LdAbs, 16);
        for (int i = 0; i < SafePersonalities.Length; i++)
            JeqTo(SafePersonalities[i], (byte)(SafePersonalities.Length - i), 0);
        Stmt(Ret, RET_ERRNO | EPERM);
        Stmt(Ret, RET_ALLOW);

        Stmt(Ret, RET_ALLOW);
        return p.ToArray();
    }
}
