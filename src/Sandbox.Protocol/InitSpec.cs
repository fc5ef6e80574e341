namespace Sandbox.Protocol;

/// <summary>How init was started, which decides how it reaches the new root.</summary>
public enum InitMode
{
    /// <summary>Started by the host in fresh namespaces: mount an overlay of <see cref="InitSpec.Lower"/>, pivot_root.</summary>
    Container,
    /// <summary>PID 1 of a guest kernel: mount the root disk, overlay on tmpfs, switch root.</summary>
    Guest,
}

/// <summary>Everything sandbox-init needs to build the workload's world and run it. Plain data, sent as JSON.</summary>
public sealed class InitSpec
{
    public InitMode Mode { get; set; }

    /// <summary>The workload's argv; argv[0] is looked up in PATH when it has no slash.</summary>
    public string[] Argv { get; set; } = [];
    public string[] Env { get; set; } = [];
    public string WorkingDir { get; set; } = "/";
    /// <summary><c>USER[:GROUP]</c>, names resolved in the image's /etc/passwd and /etc/group, or numbers.</summary>
    public string User { get; set; } = "0";
    public string Hostname { get; set; } = "sandbox";
    public bool Tty { get; set; }
    public ushort TtyRows { get; set; }
    public ushort TtyColumns { get; set; }
    /// <summary>Keep stdin open; when false the workload's stdin is /dev/null.</summary>
    public bool Interactive { get; set; }
    public bool ReadOnlyRootfs { get; set; }

    /// <summary>Container: the image's unpacked rootfs (overlay lower). Guest: the root block device (e.g. /dev/vda).</summary>
    public string Lower { get; set; } = "";
    /// <summary>Container: overlay upper and work dirs on the host. Guest: unused (tmpfs).</summary>
    public string? Upper { get; set; }
    public string? Work { get; set; }

    public BindMount[] Mounts { get; set; } = [];

    /// <summary>Bring up loopback (a private network namespace); false when sharing the host's network.</summary>
    public bool SetupLoopback { get; set; } = true;

    /// <summary>Entries for /etc/hosts beyond localhost and the hostname.</summary>
    public string[] ExtraHosts { get; set; } = [];

    /// <summary>/etc/resolv.conf contents; null: the host's (shared network) or empty (private network).</summary>
    public string? ResolvConf { get; set; }

    /// <summary>Map the hostname to 127.0.1.1 in /etc/hosts; false when a network entry (in ExtraHosts) names it.</summary>
    public bool HostnameOnLoopback { get; set; } = true;

    /// <summary>Guest only: the virtio-net NIC to configure (bridge networks); null means loopback only.</summary>
    public GuestInterface? Interface { get; set; }

    /// <summary>The workload's resource limits (setrlimit), the full table, applied in the workload's child before exec.</summary>
    public Rlimit[] Rlimits { get; set; } = [];

    /// <summary>Guest only: the cgroup v2 limits of the workload's group in the guest (a container's are the host's job).</summary>
    public GuestLimits? GuestLimits { get; set; }

    /// <summary>Guest only (<c>--privileged</c>): all capabilities, no seccomp, no masked paths, /sys writable.</summary>
    public bool Privileged { get; set; }

    /// <summary>Guest only: kernel.pid_max to set (PID_MAX_LIMIT, what a container sees); 0 leaves it.</summary>
    public long PidMax { get; set; }

    /// <summary>
    /// An OCI bundle: root is <see cref="BundleSpec.RootfsPath"/> bound in place (no overlay), the mounts list, ids,
    /// capability sets, seccomp profile, masked/read-only paths and sysctls come from it (docs/oci-runtime.md).
    /// </summary>
    public Sandbox.Core.BundleSpec? Bundle { get; set; }

    /// <summary>
    /// Guest only: virtio-9p shares to mount before the root is built, in order. One with <see cref="GuestShareMount.IsRoot"/>
    /// replaces the root disk and its overlay (an OCI bundle's rootfs, so writes land in the bundle); the others are
    /// the sources of the bundle's host bind mounts (docs/oci-runtime.md, "Micro-VM mode").
    /// </summary>
    public GuestShareMount[] Shares { get; set; } = [];

    /// <summary>
    /// Guest only: the host's wall clock at Start (ns since the epoch); init sets the guest's clock to it first, so a
    /// guest that waited paused in the warm pool starts with the host's time. 0 leaves the clock alone.
    /// </summary>
    public long RealtimeNs { get; set; }

    /// <summary>
    /// Guest only: fresh random bytes from the host, mixed into the guest's pool at Start, so that no two workloads
    /// share entropy whatever the guest did before Start (docs/microvm.md, "Warm pool").
    /// </summary>
    public byte[]? EntropySeed { get; set; }

    /// <summary>
    /// Send the detailed marks (<see cref="MarkKind.KernelStarted"/> and after) for a boot breakdown
    /// (<c>sandbox run --timings-detail</c>). Off by default: reading the kernel's log costs guest time.
    /// </summary>
    public bool TraceBoot { get; set; }
}

/// <summary>A virtio-9p share the guest mounts: its tag, where (ignored for the root), read-only or not.</summary>
public sealed class GuestShareMount
{
    public string Tag { get; set; } = "";
    public string Target { get; set; } = "";
    public bool ReadOnly { get; set; }
    public bool IsRoot { get; set; }
}

/// <summary>One setrlimit: RLIMIT_* number, soft and hard values (ulong.MaxValue = RLIM_INFINITY).</summary>
public sealed class Rlimit
{
    public int Resource { get; set; }
    public ulong Soft { get; set; }
    public ulong Hard { get; set; }
}

/// <summary>The workload's cgroup in a guest: null fields are not limited.</summary>
public sealed class GuestLimits
{
    public long? MemoryMaxBytes { get; set; }
    /// <summary>cpu.max quota per period, in microseconds.</summary>
    public long? CpuQuotaUs { get; set; }
    public long CpuPeriodUs { get; set; } = 100_000;
    public long? PidsMax { get; set; }
}

/// <summary>A guest NIC's settings, from the host's IPAM (see docs/network.md).</summary>
public sealed class GuestInterface
{
    /// <summary>The NIC is found by this MAC (the domain XML gives the device the same one).</summary>
    public string Mac { get; set; } = "";
    public string Address { get; set; } = "";
    public int PrefixLength { get; set; }
    /// <summary>Default route; null on an internal network.</summary>
    public string? Gateway { get; set; }
    public int Mtu { get; set; } = 1500;
}

/// <summary>A bind mount from outside the rootfs to a path inside it.</summary>
public sealed class BindMount
{
    public string Source { get; set; } = "";
    public string Target { get; set; } = "";
    public bool ReadOnly { get; set; }
}
