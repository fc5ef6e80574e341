namespace Sandbox.Core;

/// <summary>
/// What an OCI bundle's <c>config.json</c> says beyond <see cref="SandboxSpec"/>'s docker-shaped fields (docs/oci-runtime.md).
/// When a <see cref="SandboxSpec"/> carries one, the backend runs the bundle's own rootfs directory (no image, no
/// overlay: writes land in the bundle, where podman's <c>cp</c> and <c>diff</c> look) and applies exactly this profile
/// instead of docker's defaults: the mounts list, capability sets, the config's seccomp profile (none when it has
/// none, as runc), masked and read-only paths, sysctls, numeric ids. Plain data, validated by the OCI front end.
/// </summary>
public sealed record BundleSpec
{
    /// <summary>The bundle's rootfs directory (absolute).</summary>
    public required string RootfsPath { get; init; }

    /// <summary><c>mounts</c>, in order.</summary>
    public IReadOnlyList<BundleMount> Mounts { get; init; } = [];

    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public IReadOnlyList<uint> AdditionalGids { get; init; } = [];
    public uint? Umask { get; init; }

    /// <summary>The five capability sets as bit masks (bit N = capability N).</summary>
    public ulong CapBounding { get; init; }
    public ulong CapEffective { get; init; }
    public ulong CapPermitted { get; init; }
    public ulong CapInheritable { get; init; }
    public ulong CapAmbient { get; init; }

    public bool NoNewPrivileges { get; init; }
    public int? OomScoreAdj { get; init; }

    public IReadOnlyList<string> MaskedPaths { get; init; } = [];
    public IReadOnlyList<string> ReadonlyPaths { get; init; } = [];
    public IReadOnlyDictionary<string, string> Sysctl { get; init; } = new Dictionary<string, string>();

    /// <summary>The config's seccomp profile; null: no filter (runc's behaviour without <c>linux.seccomp</c>).</summary>
    public BundleSeccomp? Seccomp { get; init; }

    /// <summary><c>linux.rootfsPropagation</c>: private (default), rprivate, slave, rslave, shared, rshared, unbindable.</summary>
    public string? RootfsPropagation { get; init; }

    /// <summary>Set the hostname (a new UTS namespace and <c>hostname</c> given).</summary>
    public bool SetHostname { get; init; }

    /// <summary>Namespaces to create (CLONE_NEW* flags); the rest are the runtime's own (or joined).</summary>
    public ulong NewNamespaces { get; init; }

    /// <summary>Namespaces joined by path (net, ipc, uts only: see docs/oci-runtime.md).</summary>
    public IReadOnlyList<NamespaceJoin> Joins { get; init; } = [];

    /// <summary><c>linux.uidMappings</c>/<c>gidMappings</c> (with a new user namespace).</summary>
    public IReadOnlyList<IdMapEntry> UidMappings { get; init; } = [];
    public IReadOnlyList<IdMapEntry> GidMappings { get; init; } = [];

    /// <summary><c>linux.cgroupsPath</c>, relative to each hierarchy's root; null: the runtime's own place.</summary>
    public string? CgroupsPath { get; init; }

    /// <summary><c>--console-socket</c>: where the pty master goes (SCM_RIGHTS) instead of a relay.</summary>
    public string? ConsoleSocket { get; init; }

    /// <summary><c>hooks</c>; null: none.</summary>
    public BundleHooks? Hooks { get; init; }

    /// <summary>What the hooks' state document says: the container's id, the bundle directory, the annotations.</summary>
    public string? ContainerId { get; init; }
    public string? BundlePath { get; init; }
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();

    /// <summary><c>--preserve-fds N</c>: the caller's fds 3 … 3+N-1 are handed on to the workload (as 3 … 3+N-1).</summary>
    public int PreserveFds { get; init; }

    /// <summary>Where the OCI owner process holds the preserved fds (after its stdio, report pipe and log).</summary>
    public const int PreservedFdBase = 5;
}

/// <summary>One entry of <c>mounts</c>.</summary>
public sealed record BundleMount(string Destination, string Type, string Source, IReadOnlyList<string> Options);

public sealed record NamespaceJoin(string Type, string Path);

public sealed record IdMapEntry(uint ContainerId, uint HostId, uint Size);

/// <summary><c>linux.seccomp</c>: default action, per-call rules, architectures.</summary>
public sealed record BundleSeccomp
{
    public required string DefaultAction { get; init; }
    public int DefaultErrno { get; init; } = 1;
    public IReadOnlyList<string> Architectures { get; init; } = [];
    public IReadOnlyList<BundleSeccompRule> Syscalls { get; init; } = [];
}

public sealed record BundleSeccompRule(IReadOnlyList<string> Names, string Action, int Errno, IReadOnlyList<BundleSeccompArg> Args);

/// <summary>Op: SCMP_CMP_EQ, NE, LT, LE, GT, GE, MASKED_EQ.</summary>
public sealed record BundleSeccompArg(int Index, ulong Value, ulong ValueTwo, string Op);

/// <summary>
/// <c>hooks</c> (runtime-spec config.md, POSIX-platform hooks), each list in its order. Where each runs:
/// docs/oci-runtime.md (prestart and createRuntime in the runtime's namespaces, createContainer and startContainer
/// in the container's, poststart and poststop in the runtime's).
/// </summary>
public sealed record BundleHooks
{
    public IReadOnlyList<BundleHook> Prestart { get; init; } = [];
    public IReadOnlyList<BundleHook> CreateRuntime { get; init; } = [];
    public IReadOnlyList<BundleHook> CreateContainer { get; init; } = [];
    public IReadOnlyList<BundleHook> StartContainer { get; init; } = [];
    public IReadOnlyList<BundleHook> Poststart { get; init; } = [];
    public IReadOnlyList<BundleHook> Poststop { get; init; } = [];
}

/// <summary>One hook: <c>path</c>, <c>args</c> (argv, argv[0] included), <c>env</c> (null: the runtime's own, as runc), <c>timeout</c> in seconds.</summary>
public sealed record BundleHook(string Path, IReadOnlyList<string> Args, IReadOnlyList<string>? Env, int? Timeout);
