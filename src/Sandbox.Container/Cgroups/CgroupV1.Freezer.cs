namespace Sandbox.Container.Cgroups;

public sealed partial class CgroupV1
{
    /// <summary>
    /// The v1 freezer group is made only when a sandbox is first paused, so runs that never pause pay no extra mkdir:
    /// the tasks of the memory group are moved in until both lists agree (a task forked meanwhile is caught by the
    /// next pass), then the group is frozen and the lists compared once more (frozen tasks cannot fork).
    /// </summary>
    public override async Task FreezeAsync(bool frozen, CancellationToken cancellationToken = default)
    {
        var root = HierarchyRoot("freezer") ?? throw new Core.SandboxException(Core.SandboxFailure.Cgroups,
            $"the cgroup v1 freezer controller is not mounted under {Root}");
        var dir = Path.Combine(root, _relative);
        var state = Path.Combine(dir, "freezer.state");
        if (!frozen)
        {
            if (Directory.Exists(dir)) await SetFreezerAsync(state, "THAWED", cancellationToken).ConfigureAwait(false);
            return;
        }
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"cannot create cgroup {dir}: {e.Message}", e);
        }
        var source = Path.Combine(Dir("memory"), "cgroup.procs");
        var target = Path.Combine(dir, "cgroup.procs");
        for (int pass = 0; ; pass++)
        {
            var missing = ReadPids(source).Except(ReadPids(target)).ToArray();
            if (missing.Length == 0)
            {
                await SetFreezerAsync(state, "FROZEN", cancellationToken).ConfigureAwait(false);
                if (!ReadPids(source).Except(ReadPids(target)).Any()) return;
                await SetFreezerAsync(state, "THAWED", cancellationToken).ConfigureAwait(false);
            }
            if (pass > 100)
                throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"the tasks of sandbox {id} kept forking; cannot freeze them");
            foreach (var pid in missing)
            {
                try { File.WriteAllText(target, pid.ToString()); }
                catch (IOException) { /* exited meanwhile */ }
            }
        }
    }

    private static HashSet<int> ReadPids(string procs)
    {
        var set = new HashSet<int>();
        try
        {
            foreach (var line in File.ReadAllLines(procs))
                if (int.TryParse(line, out int pid)) set.Add(pid);
        }
        catch (IOException) { }
        return set;
    }

    private static async Task SetFreezerAsync(string stateFile, string value, CancellationToken cancellationToken)
    {
        Write(stateFile, value);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (File.ReadAllText(stateFile).Trim() != value)
        {
            if (DateTime.UtcNow > deadline)
                throw new Core.SandboxException(Core.SandboxFailure.Cgroups, $"{stateFile} did not reach {value} within 10 s");
            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The freezer group (when a pause made one): thawed, emptied and removed with the rest.</summary>
    private IEnumerable<string> FreezerDirectory()
    {
        var root = HierarchyRoot("freezer");
        if (root is null) yield break;
        var dir = Path.Combine(root, _relative);
        if (Directory.Exists(dir)) yield return dir;
    }
}
