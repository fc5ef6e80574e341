using Microsoft.Win32.SafeHandles;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// The workload's cgroup v2 group in a guest (see docs/microvm.md, "Limits"): the guest's PID 1 mounts cgroup2 at
/// /sys/fs/cgroup, enables memory, cpu and pids for its children and makes one group, <c>/workload</c>, with the run's
/// memory.max, cpu.max and pids.max. The workload's init and everything it starts live in that group, as a container's
/// init and workload live in the container's group on the host; the guest's own PID 1 stays outside it, in memory the
/// host sized above memory.max, so an OOM of the workload is the group's, never the guest's.
/// </summary>
internal static class GuestCgroup
{
    public const string Hierarchy = "/sys/fs/cgroup";
    public const string Group = Hierarchy + "/workload";

    /// <summary>The workload init's memory.events, opened before the root switch hides the hierarchy.</summary>
    private static SafeFileHandle? s_events;

    /// <summary>Guest PID 1: mounts the hierarchy and makes the group with the limits.</summary>
    public static void Create(GuestLimits limits)
    {
        Workload.Try(InitFailure.Other, $"mount cgroup2 at {Hierarchy}", () =>
        {
            if (!File.Exists(Path.Combine(Hierarchy, "cgroup.controllers")))
                Mounts.Mount("cgroup2", Hierarchy, "cgroup2", Mounts.MS_NOSUID | Mounts.MS_NODEV | Mounts.MS_NOEXEC);
        });
        Workload.Try(InitFailure.Other, $"create the workload's cgroup {Group}", () =>
        {
            var available = File.ReadAllText(Path.Combine(Hierarchy, "cgroup.controllers")).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var needed in new[] { "memory", "cpu", "pids" })
                if (!available.Contains(needed))
                    throw new IOException($"the guest kernel has no cgroup v2 '{needed}' controller");
            File.WriteAllText(Path.Combine(Hierarchy, "cgroup.subtree_control"), "+memory +cpu +pids");
            Directory.CreateDirectory(Group);
            WriteLimits(limits);
        });
    }

    /// <summary>Guest PID 1 of a warm pool member, at Start: the run's limits on the group its prespawned init is in.</summary>
    public static void SetLimits(GuestLimits limits) =>
        Workload.Try(InitFailure.Other, $"set the limits of {Group}", () => WriteLimits(limits));

    private static void WriteLimits(GuestLimits limits)
    {
        // Not memory.oom.group: it would kill init with the workload (as in a container, the OOM killer picks the
        // largest task; init's oom_score_adj keeps it out).
        if (limits.MemoryMaxBytes is long m) File.WriteAllText(Path.Combine(Group, "memory.max"), m.ToString());
        if (limits.CpuQuotaUs is long q) File.WriteAllText(Path.Combine(Group, "cpu.max"), $"{q} {limits.CpuPeriodUs}");
        if (limits.PidsMax is long p) File.WriteAllText(Path.Combine(Group, "pids.max"), p.ToString());
    }

    public static void AddProcess(int pid) =>
        Workload.Try(InitFailure.Other, $"move pid {pid} into {Group}", () => File.WriteAllText(Path.Combine(Group, "cgroup.procs"), pid.ToString()));

    /// <summary>Workload init (before the root switch): keep a handle on the group's OOM counter.</summary>
    public static void OpenEvents()
    {
        var path = Path.Combine(Group, "memory.events");
        if (File.Exists(path)) s_events = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
    }

    /// <summary>Whether the OOM killer killed a task of the group; false outside a guest.</summary>
    public static bool OomKilled()
    {
        if (s_events is null) return false;
        var buffer = new byte[1024];
        int n = RandomAccess.Read(s_events, buffer, 0);
        foreach (var line in System.Text.Encoding.ASCII.GetString(buffer, 0, n).Split('\n'))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2 && parts[0] is "oom_kill" or "oom_group_kill" && long.TryParse(parts[1], out long v) && v > 0) return true;
        }
        return false;
    }
}
