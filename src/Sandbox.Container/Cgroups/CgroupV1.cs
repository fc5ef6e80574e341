namespace Sandbox.Container.Cgroups;

/// <summary>cgroup v1: one directory per controller hierarchy (memory, cpu, cpuacct, pids).</summary>
public sealed partial class CgroupV1(string id, string? relativePath = null) : Cgroup
{
    /// <summary>Where the group lives below each hierarchy's root: <c>sandbox/ID</c>, or an OCI config's cgroupsPath.</summary>
    private readonly string _relative = relativePath?.Trim('/') ?? Path.Combine(Parent, id);

    private static readonly string[] Controllers = ["memory", "cpu", "cpuacct", "pids"];

    public override string Id => id;

    /// <summary>The group's directories, one per distinct hierarchy (cpu and cpuacct are often co-mounted).</summary>
    public override IEnumerable<string> Paths() => Directories().Concat(FreezerDirectory()).Concat(CpusetDirectory());

    private IEnumerable<string> Directories() =>
        Controllers.Select(c => HierarchyRoot(c)).Where(r => r is not null).Distinct().Select(r => Path.Combine(r!, _relative));

    private static string? HierarchyRoot(string controller)
    {
        var path = Path.Combine(Root, controller);
        if (!Directory.Exists(path)) return null;
        var info = new DirectoryInfo(path);
        return info.LinkTarget is string target ? Path.GetFullPath(Path.Combine(Root, target)) : path;
    }

    private string Dir(string controller) =>
        Path.Combine(HierarchyRoot(controller) ?? throw new Core.SandboxException(Core.SandboxFailure.Cgroups,
            $"the cgroup v1 {controller} controller is not mounted under {Root}"), _relative);

    public override void Create(Core.ResourceLimits limits)
    {
        foreach (var dir in Directories())
        {
            try { Directory.CreateDirectory(dir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"cannot create cgroup {dir}: {e.Message}", e);
            }
        }
        SetMemory(limits.MemoryBytes);
        SetCpu(limits.Cpus);
        SetPids(limits.Pids);
    }

    public override void AddProcess(int pid)
    {
        foreach (var dir in Directories()) Write(Path.Combine(dir, "cgroup.procs"), pid.ToString());
    }

    public override Task DestroyAsync(CancellationToken cancellationToken = default)
    {
        foreach (var freezer in FreezerDirectory())
        {
            // Frozen tasks cannot die: thaw before killing.
            try { File.WriteAllText(Path.Combine(freezer, "freezer.state"), "THAWED"); } catch (IOException) { }
        }
        return Task.WhenAll(Directories().Concat(FreezerDirectory()).Concat(CpusetDirectory()).Select(d => EmptyAndRemoveAsync(d, cancellationToken)));
    }

    internal static new IEnumerable<string> ExistingIds()
    {
        var ids = new HashSet<string>();
        foreach (var c in Controllers.Append("freezer").Append("cpuset"))
        {
            var root = HierarchyRoot(c);
            if (root is null || !Directory.Exists(Path.Combine(root, Parent))) continue;
            foreach (var d in Directory.EnumerateDirectories(Path.Combine(root, Parent))) ids.Add(Path.GetFileName(d));
        }
        return ids;
    }
}
