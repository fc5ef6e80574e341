namespace Sandbox.Container.Cgroups;

/// <summary>cgroup v2: one directory in the unified hierarchy, controllers enabled through subtree_control.</summary>
public sealed partial class CgroupV2 : Cgroup
{
    private static readonly string DefaultParentDir = Path.Combine(Root, Parent);
    private readonly string _root;
    private readonly string _parentDir;
    private readonly string _dir;
    private readonly string id;

    public CgroupV2(string id) : this(id, Root) { }

    /// <summary>A group under another cgroup2 mount (e.g. the empty one of a hybrid host, in tests).</summary>
    public CgroupV2(string id, string hierarchyRoot)
    {
        this.id = id;
        _root = hierarchyRoot;
        _parentDir = Path.Combine(hierarchyRoot, Parent);
        _dir = Path.Combine(_parentDir, id);
    }

    public override string Id => id;

    public override void Create(Core.ResourceLimits limits)
    {
        try { Directory.CreateDirectory(_parentDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"cannot create cgroup {_parentDir}: {e.Message}", e);
        }
        // Delegate the controllers down to our groups (the parent holds no processes, as v2 requires).
        foreach (var dir in new[] { _root, _parentDir })
        {
            var available = File.ReadAllText(Path.Combine(dir, "cgroup.controllers")).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var wanted = new[] { "memory", "cpu", "pids" }.Where(available.Contains).Select(c => "+" + c);
            var line = string.Join(' ', wanted);
            if (line.Length > 0) Write(Path.Combine(dir, "cgroup.subtree_control"), line);
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

    public override async Task FreezeAsync(bool frozen, CancellationToken cancellationToken = default)
    {
        Write(Path.Combine(_dir, "cgroup.freeze"), frozen ? "1" : "0");
        // cgroup.events says "frozen 1" once every task stopped (a task in a syscall may take a moment).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ReadKeyed(Path.Combine(_dir, "cgroup.events"), "frozen") != (frozen ? 1 : 0))
        {
            if (DateTime.UtcNow > deadline)
                throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"cgroup {_dir} did not {(frozen ? "freeze" : "thaw")} within 10 s");
            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task DestroyAsync(CancellationToken cancellationToken = default)
    {
        // A frozen group's tasks cannot die; thaw it first.
        if (File.Exists(Path.Combine(_dir, "cgroup.freeze")))
        {
            try { File.WriteAllText(Path.Combine(_dir, "cgroup.freeze"), "0"); } catch (IOException) { }
        }
        var kill = Path.Combine(_dir, "cgroup.kill");
        if (File.Exists(kill))
        {
            try { File.WriteAllText(kill, "1"); } catch (IOException) { }
        }
        await EmptyAndRemoveAsync(_dir, cancellationToken).ConfigureAwait(false);
    }

    internal static new IEnumerable<string> ExistingIds() =>
        Directory.Exists(DefaultParentDir) ? Directory.EnumerateDirectories(DefaultParentDir).Select(Path.GetFileName).OfType<string>() : [];
}
