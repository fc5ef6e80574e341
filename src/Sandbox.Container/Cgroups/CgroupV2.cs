namespace Sandbox.Container.Cgroups;

/// <summary>cgroup v2: one directory in the unified hierarchy, controllers enabled through subtree_control.</summary>
public sealed partial class CgroupV2 : Cgroup
{
    private static readonly Lazy<string> DefaultBase = new(() => DelegatedBase(Root));
    private static string DefaultParentDir => Path.Combine(DefaultBase.Value, Parent);
    private readonly string _root;
    /// <summary>Where the sandboxes' parent lives: the hierarchy's root, or the runtime's own delegated cgroup.</summary>
    private readonly string _base;
    private readonly string _parentDir;
    private readonly string _dir;
    private readonly string id;

    public CgroupV2(string id) : this(id, Root, DefaultBase.Value) { }

    /// <summary>An OCI config's cgroupsPath, below the hierarchy's root.</summary>
    public static CgroupV2 At(string id, string relativePath)
    {
        var dir = Path.Combine(Root, relativePath.Trim('/'));
        return new CgroupV2(id, Root, Root, dir);
    }

    /// <summary>A group under another cgroup2 mount (e.g. the empty one of a hybrid host, in tests).</summary>
    public CgroupV2(string id, string hierarchyRoot) : this(id, hierarchyRoot, hierarchyRoot) { }

    private CgroupV2(string id, string hierarchyRoot, string baseDir, string? dir = null)
    {
        this.id = id;
        _root = hierarchyRoot;
        _base = baseDir;
        _parentDir = dir is null ? Path.Combine(baseDir, Parent) : Path.GetDirectoryName(dir)!;
        _dir = dir ?? Path.Combine(_parentDir, id);
    }

    /// <summary>The leaf a runtime started in a delegated cgroup moves that cgroup's processes into.</summary>
    public const string SupervisorLeaf = "supervisor";

    /// <summary>
    /// Started inside a non-root cgroup (systemd's Delegate=yes gives a service its own subtree; a cgroup namespace
    /// looks the same), the runtime may only manage what is below its own cgroup: the sandboxes go there, under
    /// <c>sandbox/</c>. Read from /proc/self/cgroup (<c>0::/PATH</c>); our own <c>supervisor</c> leaf counts as its
    /// parent, so later runs find the same base.
    /// </summary>
    internal static string DelegatedBase(string hierarchyRoot)
    {
        string? own = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/cgroup"))
                if (line.StartsWith("0::", StringComparison.Ordinal)) own = line[3..];
        }
        catch (IOException) { }
        if (string.IsNullOrEmpty(own) || own == "/") return hierarchyRoot;
        if (own.EndsWith("/" + SupervisorLeaf, StringComparison.Ordinal)) own = own[..^(SupervisorLeaf.Length + 1)];
        return own.Length <= 1 ? hierarchyRoot : hierarchyRoot + own;
    }

    /// <summary>
    /// cgroup v2's "no internal processes" rule: a non-root cgroup with processes cannot hand controllers to its
    /// children. So a delegated base's processes (the runtime, the shell that started it) move into a leaf first.
    /// </summary>
    private void VacateBase()
    {
        if (_base == _root) return;
        var procs = Path.Combine(_base, "cgroup.procs");
        string[] pids;
        try { pids = File.ReadAllLines(procs); }
        catch (IOException e) { throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"cannot read {procs}: {e.Message}", e); }
        if (pids.Length == 0) return;
        var leaf = Path.Combine(_base, SupervisorLeaf);
        try { Directory.CreateDirectory(leaf); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"cannot create cgroup {leaf}: {e.Message}", e);
        }
        foreach (var pid in pids)
        {
            try { File.WriteAllText(Path.Combine(leaf, "cgroup.procs"), pid); }
            catch (IOException) { /* exited meanwhile (ESRCH) */ }
        }
    }

    public override string Id => id;

    public override void Create(Core.ResourceLimits limits)
    {
        try { Directory.CreateDirectory(_parentDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"cannot create cgroup {_parentDir}: {e.Message}", e);
        }
        VacateBase();
        // Delegate the controllers down to our groups (the parent holds no processes, as v2 requires).
        foreach (var dir in new[] { _base, _parentDir })
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
