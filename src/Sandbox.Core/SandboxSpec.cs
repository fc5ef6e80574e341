namespace Sandbox.Core;

/// <summary>
/// Everything needed to start one sandbox. Plain data: validation lives in <see cref="SandboxSpecValidator"/>,
/// image defaults are merged by <see cref="ProcessSpec.Resolve"/>.
/// </summary>
public sealed record SandboxSpec
{
    /// <summary>Image reference (<c>name[:tag]</c> or <c>sha256:…</c>) as known to the image store.</summary>
    public required string Image { get; init; }

    /// <summary>Run arguments after the image name; empty means the image's CMD.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Overrides the image's ENTRYPOINT when not null (an empty list clears it, as <c>--entrypoint ''</c>).</summary>
    public IReadOnlyList<string>? Entrypoint { get; init; }

    /// <summary>Extra environment (<c>-e K=V</c>); wins over the image's Env.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    /// <summary>Working directory (<c>-w</c>); null means the image's WorkingDir, else <c>/</c>.</summary>
    public string? WorkingDir { get; init; }

    /// <summary>User (<c>-u USER[:GROUP]</c>, by name or number); null means the image's User, else root.</summary>
    public string? User { get; init; }

    public string? Hostname { get; init; }

    /// <summary>
    /// The id of a sandbox whose state directory already exists (made by the lifecycle's <c>create</c>); null makes a
    /// new id and directory.
    /// </summary>
    public string? Id { get; init; }

    /// <summary>Optional name (<c>--name</c>); the sandbox id is used when null.</summary>
    public string? Name { get; init; }

    public bool Tty { get; init; }

    /// <summary>Keep stdin open (<c>-i</c>); otherwise the workload's stdin is empty.</summary>
    public bool Interactive { get; init; }

    public ResourceLimits Limits { get; init; } = ResourceLimits.None;

    /// <summary><c>--ulimit</c>s; they replace entries of <see cref="Ulimit.Defaults"/> of the same name.</summary>
    public IReadOnlyList<Ulimit> Ulimits { get; init; } = [];

    public IReadOnlyList<VolumeMount> Volumes { get; init; } = [];

    public NetworkMode Network { get; init; } = NetworkMode.None;

    /// <summary>With <see cref="NetworkMode.Bridge"/>: the network's name (<c>--network NAME</c>).</summary>
    public string? NetworkName { get; init; }

    /// <summary>Published ports (<c>-p</c>), and <c>-P</c> (every port the image exposes, on a free host port).</summary>
    public IReadOnlyList<PortMapping> Ports { get; init; } = [];
    public bool PublishAll { get; init; }

    /// <summary>Resolvers for /etc/resolv.conf (<c>--dns</c>); empty means the host's (see docs/network.md).</summary>
    public IReadOnlyList<string> Dns { get; init; } = [];

    /// <summary>Extra /etc/hosts entries (<c>--add-host NAME:IP</c>), as (name, address).</summary>
    public IReadOnlyList<HostEntry> ExtraHosts { get; init; } = [];

    /// <summary>A fixed address on the network (<c>--ip</c>); null means the next free one.</summary>
    public string? IpAddress { get; init; }

    public bool ReadOnlyRootfs { get; init; }

    /// <summary>Remove the sandbox's writable layer when it exits (<c>--rm</c>).</summary>
    public bool Remove { get; init; }

    /// <summary>
    /// VM only (<c>--privileged</c>): every capability, no seccomp filter, no masked paths, /sys writable and the
    /// guest's cgroup namespace, so the workload may run containers itself (the guest is the boundary). Refused for a
    /// container, where it would hand the workload the host.
    /// </summary>
    public bool Privileged { get; init; }

    /// <summary>Container only: run in a new user namespace with root mapped to an unprivileged host range.</summary>
    public bool UserNamespace { get; init; }

    public Isolation Isolation { get; init; } = Isolation.Container;

    /// <summary>An OCI bundle (the OCI runtime front end): its rootfs and profile replace the image and docker's defaults.</summary>
    public BundleSpec? Bundle { get; init; }

    /// <summary>Micro-VM: collect the boot's detailed steps (kernel log, init's steps) in <see cref="SandboxTimings.Steps"/>.</summary>
    public bool TraceBoot { get; init; }
}
