namespace Sandbox.Container.Cgroups;

/// <summary>cgroup v2: one directory in the unified hierarchy, controllers enabled through subtree_control.</summary>
public sealed partial class CgroupV2(string id) : Cgroup
{
    private static readonly string ParentDir = Path.Combine(Root, Parent);
    private readonly string _dir = Path.Combine(ParentDir, id);

    public override string Id => id;

    public override void Create(Core.ResourceLimits limits)
    {
        try { Directory.CreateDirectory(ParentDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"cannot create cgroup {ParentDir}: {e.Message}", e);
        }
        // Delegate the controllers down to our groups (the parent holds no processes, as v2 requires).
        foreach (var dir in new[] { Root, ParentDir })
        {
            var available = File.ReadAllText(Path.Combine(dir, "cgroup.controllers")).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var wanted = new[] { "memory", "cpu", "pids" }.Where(available.Contains).Select(c => "+" + c);
            Write(Path.Combine(dir, "cgroup.subtree_control"), string.Join(' ', wanted));
        }
        try { Directory.CreateDirectory(_dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"cannot create cgroup {_dir}: {e.Message}", e);
        }
        SetMemory(limits.MemoryBytes);
        SetCpu(limits.Cpus);
        SetPids(limits.Pids);
    }

    public override IEnumerable<string> Paths() => [_dir];

    public override void AddProcess(int pid) => Write(Path.Combine(_dir, "cgroup.procs"), pid.ToString());

    public override async Task DestroyAsync(CancellationToken cancellationToken = default)
    {
        var kill = Path.Combine(_dir, "cgroup.kill");
        if (File.Exists(kill))
        {
            try { File.WriteAllText(kill, "1"); } catch (IOException) { }
        }
        await EmptyAndRemoveAsync(_dir, cancellationToken).ConfigureAwait(false);
    }

    internal static new IEnumerable<string> ExistingIds() =>
        Directory.Exists(ParentDir) ? Directory.EnumerateDirectories(ParentDir).Select(Path.GetFileName).OfType<string>() : [];
}
