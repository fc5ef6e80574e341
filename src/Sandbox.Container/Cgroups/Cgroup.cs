using Sandbox.Core;

namespace Sandbox.Container.Cgroups;

/// <summary>
/// One sandbox's control group (memory, cpu, pids), on cgroup v2 or on v1's per-controller hierarchies. All of it
/// lives under a <c>sandbox/&lt;id&gt;</c> directory, so a crashed run's leftovers can be found from the id alone.
/// </summary>
public abstract class Cgroup
{
    public const string Parent = "sandbox";
    protected const string Root = "/sys/fs/cgroup";

    /// <summary>v2 when the unified hierarchy is mounted at /sys/fs/cgroup (pure v2), else v1 controllers.</summary>
    public static bool UnifiedMode => File.Exists(Path.Combine(Root, "cgroup.controllers"));

    public static Cgroup For(string id) => UnifiedMode ? new CgroupV2(id) : new CgroupV1(id);

    /// <summary>A group at an OCI config's <c>linux.cgroupsPath</c> (relative to each hierarchy's root).</summary>
    public static Cgroup AtPath(string id, string relativePath) =>
        UnifiedMode ? CgroupV2.At(id, relativePath) : new CgroupV1(id, relativePath);

    public abstract string Id { get; }

    /// <summary>Creates the group and applies the limits.</summary>
    public abstract void Create(ResourceLimits limits);

    /// <summary>Moves a process (and its future children) into the group.</summary>
    public abstract void AddProcess(int pid);

    /// <summary>Whether the kernel's OOM killer killed a task of this group.</summary>
    public abstract bool OomKilled();

    public abstract long MemoryUsage();

    public abstract TimeSpan CpuUsage();

    /// <summary>Freezes (or thaws) every task of the group; returns once the kernel reports them frozen.</summary>
    public abstract Task FreezeAsync(bool frozen, CancellationToken cancellationToken = default);

    /// <summary>Changes the limits of the (running) group: runc's <c>update</c>. Unsupported values are errors.</summary>
    public abstract void Update(CgroupUpdate update);

    /// <summary>Kills every process left in the group, waits until it is empty and removes it.</summary>
    public abstract Task DestroyAsync(CancellationToken cancellationToken = default);

    protected static void Write(string path, string value)
    {
        try { File.WriteAllText(path, value); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException(SandboxFailure.Cgroups, $"cannot write '{value}' to {path}: {e.Message}", e);
        }
    }

    protected static long ReadKeyed(string path, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], out var v)) return v;
            }
        }
        catch (IOException) { }
        return 0;
    }

    protected static long ReadLong(string path)
    {
        try { return long.TryParse(File.ReadAllText(path).Trim(), out var v) ? v : 0; }
        catch (IOException) { return 0; }
    }

    /// <summary>Kills the tasks of a cgroup directory until none is left, then removes it.</summary>
    protected static async Task EmptyAndRemoveAsync(string dir, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(dir)) return;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            string[] pids;
            try { pids = File.ReadAllLines(Path.Combine(dir, "cgroup.procs")); }
            catch (IOException) { pids = []; }
            foreach (var p in pids)
                if (int.TryParse(p, out var pid)) Interop.Libc.Processes.Kill(pid, Interop.Libc.Processes.SIGKILL);
            try
            {
                Directory.Delete(dir);
                return;
            }
            catch (DirectoryNotFoundException) { return; }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                // EBUSY until the killed tasks are really gone.
                await Task.Delay(5, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new SandboxException(SandboxFailure.Cgroups, $"cannot remove cgroup {dir}: {e.Message}", e);
            }
        }
    }

    /// <summary>The group's directories.</summary>
    public abstract IEnumerable<string> Paths();

    /// <summary>
    /// Removes the group when it is empty and older than <paramref name="minAge"/>: the leftovers of a crash. A group
    /// with processes may belong to a live sandbox of another state root, so it is never touched here.
    /// </summary>
    public bool RemoveIfAbandoned(TimeSpan minAge)
    {
        bool removed = false;
        foreach (var dir in Paths())
        {
            if (!Directory.Exists(dir) || DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) < minAge) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cgroup.procs")).Trim().Length > 0) continue;
                Directory.Delete(dir);
                removed = true;
            }
            catch (IOException) { }
        }
        return removed;
    }

    /// <summary>The ids of sandboxes that have a group here (for the reaper).</summary>
    public static IEnumerable<string> ExistingIds() => UnifiedMode ? CgroupV2.ExistingIds() : CgroupV1.ExistingIds();
}
