namespace Sandbox.Init;

/// <summary>
/// The hardening every workload gets, docker's defaults: its capability set, no_new_privs and docker's default seccomp
/// profile (an allow-list; see Seccomp/DockerProfile.cs and docs/container.md, "seccomp").
/// </summary>
public static class SecurityProfile
{
    /// <summary>docker's default capabilities: CapEff/CapBnd = 0x00000000a80425fb for root.</summary>
    public static readonly ulong DefaultCapabilities = Bits(
        0 /* CHOWN */, 1 /* DAC_OVERRIDE */, 3 /* FOWNER */, 4 /* FSETID */, 5 /* KILL */, 6 /* SETGID */, 7 /* SETUID */,
        8 /* SETPCAP */, 10 /* NET_BIND_SERVICE */, 13 /* NET_RAW */, 18 /* SYS_CHROOT */, 27 /* MKNOD */,
        29 /* AUDIT_WRITE */, 31 /* SETFCAP */);

    /// <summary>Every capability this kernel ABI knows (0 … CAP_CHECKPOINT_RESTORE), for --privileged.</summary>
    public static readonly ulong AllCapabilities = (1UL << 41) - 1;

    private static ulong Bits(params int[] caps) => caps.Aggregate(0UL, (m, c) => m | (1UL << c));

    /// <summary>The names (<see cref="Sandbox.Core.Capabilities.Names"/>) of the capabilities set in a mask.</summary>
    public static ISet<string> Names(ulong capabilities) =>
        Enumerable.Range(0, Sandbox.Core.Capabilities.Names.Length).Where(c => (capabilities & (1UL << c)) != 0).Select(c => Sandbox.Core.Capabilities.Names[c]).ToHashSet();

    /// <summary>docker's default seccomp profile for the default capabilities, compiled for this kernel.</summary>
    public static ulong[] BuildSeccompFilter() =>
        Seccomp.SeccompCompiler.CompileDefault(Names(DefaultCapabilities), KernelVersion());

    /// <summary>The default filter, built once: every process init starts gets the same.</summary>
    public static ulong[] SeccompFilter => s_filter ??= BuildSeccompFilter();
    private static ulong[]? s_filter;

    /// <summary>
    /// An OCI config's own seccomp profile, compiled once per init (podman and containerd send theirs, e.g. docker's
    /// default, already resolved for the capabilities); no <c>linux.seccomp</c>: no filter, as runc.
    /// </summary>
    public static ulong[] BundleFilter(Sandbox.Core.BundleSpec bundle)
    {
        if (bundle.Seccomp is not { } profile) return [];
        if (s_bundleFilter is not null) return s_bundleFilter;
        var rules = profile.Syscalls.Select(r => new Seccomp.SeccompRule([.. r.Names], ActionOf(r.Action), r.Errno,
            [.. r.Args.Select(a => new Seccomp.SeccompArg(a.Index, a.Value, a.ValueTwo, OpOf(a.Op)))])).ToArray();
        var arches = profile.Architectures.Count == 0 ? Seccomp.SeccompArch.All
            : Seccomp.SeccompArch.All.Where(a => profile.Architectures.Contains(a.Name switch
            {
                "x86_64" => "SCMP_ARCH_X86_64", "x32" => "SCMP_ARCH_X32", _ => "SCMP_ARCH_X86",
            })).ToArray();
        uint defaultRet = Seccomp.SeccompCompiler.Return(ActionOf(profile.DefaultAction), profile.DefaultErrno);
        return s_bundleFilter = Seccomp.SeccompCompiler.Compile(rules, defaultRet, new HashSet<string>(), KernelVersion(), arches);
    }
    private static ulong[]? s_bundleFilter;

    /// <summary>The actions a BPF filter can express; the OCI front end refuses the others (trace, notify) with a line.</summary>
    public static Seccomp.SeccompAction ActionOf(string action) => action switch
    {
        "SCMP_ACT_ALLOW" => Seccomp.SeccompAction.Allow,
        "SCMP_ACT_ERRNO" => Seccomp.SeccompAction.Errno,
        "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => Seccomp.SeccompAction.KillThread,
        "SCMP_ACT_KILL_PROCESS" => Seccomp.SeccompAction.KillProcess,
        "SCMP_ACT_TRAP" => Seccomp.SeccompAction.Trap,
        "SCMP_ACT_LOG" => Seccomp.SeccompAction.Log,
        _ => throw new InitSetupException(Protocol.InitFailure.Spec, $"seccomp action {action} is not supported"),
    };

    private static Seccomp.SeccompOp OpOf(string op) => op switch
    {
        "SCMP_CMP_EQ" => Seccomp.SeccompOp.Eq, "SCMP_CMP_NE" => Seccomp.SeccompOp.Ne, "SCMP_CMP_LT" => Seccomp.SeccompOp.Lt,
        "SCMP_CMP_LE" => Seccomp.SeccompOp.Le, "SCMP_CMP_GT" => Seccomp.SeccompOp.Gt, "SCMP_CMP_GE" => Seccomp.SeccompOp.Ge,
        "SCMP_CMP_MASKED_EQ" => Seccomp.SeccompOp.MaskedEq,
        _ => throw new InitSetupException(Protocol.InitFailure.Spec, $"seccomp operator {op} is not supported"),
    };

    private static Version KernelVersion()
    {
        try
        {
            var release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
            var digits = new string(release.TakeWhile(c => char.IsDigit(c) || c == '.').ToArray()).Trim('.');
            return Version.TryParse(digits.Contains('.') ? digits : digits + ".0", out var v) ? v : new Version(0, 0);
        }
        catch (IOException) { return new Version(0, 0); }
    }
}
