using System.Text.Json;
using System.Text.RegularExpressions;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Lifecycle;

/// <summary>
/// The lifecycle's view of <c>run/</c>: one state directory per sandbox (<see cref="SandboxDirectory"/>) holding
/// <c>state.json</c> (<see cref="SandboxRecord"/>), <c>lock</c> (commands on one sandbox take it, so they run one at a
/// time), <c>container.log</c> and <c>ctl.sock</c> (the owner's control endpoint). Names are symbolic links
/// <c>names/&lt;name&gt; → id</c>, made with one symlink(2), so two creates cannot both take a name.
/// </summary>
public sealed partial class SandboxStore(SandboxPaths paths)
{
    public const string StateName = "state.json", LockName = "lock", LogName = "container.log", ControlName = "ctl.sock",
        OwnerLogName = "owner.log", StateReserveName = "state.reserve", ExitName = "exit.json";

    /// <summary>
    /// Room kept for the record: a workload that fills the store's file system (its writable layer lives there) must
    /// not take the owner's last write, the exit. <see cref="Save"/> gives this file back when the disk is full.
    /// </summary>
    private const int ReserveBytes = 64 << 10;

    public SandboxPaths Paths { get; } = paths;

    public string DirOf(string id) => Paths.Sandbox(id);

    public string PathOf(string id, string name) => Path.Combine(Paths.Sandbox(id), name);

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")]
    private static partial Regex NamePattern();

    /// <summary>
    /// Makes the state directory of a new sandbox, status created. The directory appears whole (built under a dot
    /// name, then renamed), and the name is taken before it appears.
    /// </summary>
    public SandboxRecord Create(SandboxSpec spec, string? imageDigest, string? id = null,
        IReadOnlyDictionary<string, byte[]>? extraFiles = null)
    {
        // An OCI runtime's caller names the container itself; the rename below refuses an id in use.
        id ??= SandboxId.New();
        if (spec.Name is string name)
        {
            if (!NamePattern().IsMatch(name) || name.Length > 128)
                throw new SandboxException(SandboxFailure.InvalidSpec, $"invalid sandbox name '{name}': use [a-zA-Z0-9][a-zA-Z0-9_.-]*");
            ReserveName(name, id);
        }
        var record = new SandboxRecord
        {
            Id = id,
            Name = spec.Name,
            Image = spec.Image,
            ImageDigest = imageDigest,
            Isolation = spec.Isolation,
            Status = SandboxStatus.Created,
            Created = DateTimeOffset.UtcNow,
            Spec = spec with { Id = id },
        };
        var temp = Path.Combine(Paths.Run, $".new-{id}");
        try
        {
            Directory.CreateDirectory(Paths.Run);
            Directory.CreateDirectory(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupExecute | UnixFileMode.OtherExecute); // 0711, as SandboxDirectory: --userns needs to traverse
            // Held until the rename: a reaper that can take this lock knows the create died half-way (see SandboxReaper).
            using var making = Files.Open(temp, Files.O_RDONLY | Files.O_DIRECTORY | Files.O_CLOEXEC);
            Files.Flock(making, Files.LOCK_EX);
            File.WriteAllBytes(Path.Combine(temp, StateName), JsonSerializer.SerializeToUtf8Bytes(record, LifecycleJsonContext.Default.SandboxRecord));
            // Real blocks (zeros written, not a sparse length): a file system too full for them refuses the sandbox here.
            File.WriteAllBytes(Path.Combine(temp, StateReserveName), new byte[ReserveBytes]);
            foreach (var (file, content) in extraFiles ?? new Dictionary<string, byte[]>()) File.WriteAllBytes(Path.Combine(temp, file), content);
            if (Directory.Exists(DirOf(id))) throw new IOException($"container with id exists: {id}");
            Directory.Move(temp, DirOf(id));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { Directory.Delete(temp, true); } catch (IOException) { }
            if (spec.Name is string n) ReleaseName(n, id);
            throw new SandboxException(SandboxFailure.Host, $"cannot create the state of sandbox {id} under {Paths.Run}: " +
                (IsDiskFull(e) ? $"the file system of {Paths.Root} is full ({e.Message})" : e.Message), e);
        }
        return record;
    }

    private void ReserveName(string name, string id)
    {
        Directory.CreateDirectory(Paths.Names);
        var link = Path.Combine(Paths.Names, name);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                File.CreateSymbolicLink(link, id);
                return;
            }
            catch (IOException) when (attempt == 0 && File.Exists(link) == false && Directory.Exists(link) == false)
            {
                // A dangling link: the name's sandbox is gone (removed by a crashed rm). Take it.
                var holder = ReadName(name);
                if (holder is not null && Directory.Exists(DirOf(holder))) break;
                try { File.Delete(link); } catch (IOException) { }
            }
            catch (IOException)
            {
                break;
            }
        }
        var owner = ReadName(name);
        throw new SandboxException(SandboxFailure.InvalidSpec,
            $"the name \"{name}\" is already in use by sandbox {owner ?? "?"}: remove it or choose another name");
    }

    private string? ReadName(string name)
    {
        try { return new FileInfo(Path.Combine(Paths.Names, name)).LinkTarget; }
        catch (IOException) { return null; }
    }

    /// <summary>Frees a name if it still points at <paramref name="id"/>.</summary>
    public void ReleaseName(string name, string id)
    {
        if (ReadName(name) == id)
        {
            try { File.Delete(Path.Combine(Paths.Names, name)); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Reads a sandbox's state; null when it has none (not a lifecycle sandbox, or removed meanwhile). A state that
    /// cannot be read throws <see cref="SandboxStateException"/>, which names the file and the way back.
    /// </summary>
    public SandboxRecord? Load(string id)
    {
        var path = PathOf(id, StateName);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new SandboxStateException(id, path, e.Message, e); }
        if (bytes.Length == 0) throw new SandboxStateException(id, path, "it is empty");
        SandboxRecord? record;
        try { record = JsonSerializer.Deserialize(bytes, LifecycleJsonContext.Default.SandboxRecord); }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or FormatException)
        {
            throw new SandboxStateException(id, path, e is JsonException j ? "not valid JSON: " + j.Message : e.Message, e);
        }
        // A record that parsed but is not this sandbox's (null, another id, no spec) is as unusable as garbage.
        if (record is null || record.Id != id || record.Spec is null)
            throw new SandboxStateException(id, path, record is null ? "it holds no record" : $"it is not the record of sandbox {id}");
        return record;
    }

    /// <summary>Replaces the state atomically (write a temporary file, then rename over the old one).</summary>
    public void Save(SandboxRecord record)
    {
        var target = PathOf(record.Id, StateName);
        var temp = target + ".tmp-" + Environment.ProcessId;
        var bytes = JsonSerializer.SerializeToUtf8Bytes(record, LifecycleJsonContext.Default.SandboxRecord);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                File.WriteAllBytes(temp, bytes);
                File.Move(temp, target, overwrite: true);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                // Removed meanwhile (rm -f raced with the owner's last write): nothing left to record.
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A full disk leaves a partial temporary file: the old state stays whole, and the partial one goes.
                try { File.Delete(temp); } catch (Exception d) when (d is IOException or UnauthorizedAccessException) { }
                // The workload filled the file system: the reserve made with the sandbox gives the record its room.
                if (attempt == 0 && IsDiskFull(e) && TryDelete(PathOf(record.Id, StateReserveName))) continue;
                throw new SandboxException(SandboxFailure.Host, $"cannot write the state of sandbox {record.Id} ({target}): " +
                    (IsDiskFull(e) ? $"the file system of {Paths.Root} is full ({e.Message})" : e.Message), e);
            }
        }
    }

    /// <summary>ENOSPC or EDQUOT (a plain IOException carries the errno in HResult on Unix).</summary>
    internal static bool IsDiskFull(Exception e) => e.HResult is 28 or 122;

    private static bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>The ids of every sandbox with a state (directories without one are library sandboxes or half-made).</summary>
    public IEnumerable<string> Ids()
    {
        if (!Directory.Exists(Paths.Run)) yield break;
        foreach (var dir in Directory.EnumerateDirectories(Paths.Run))
        {
            var id = Path.GetFileName(dir);
            if (id.StartsWith('.')) continue;
            if (File.Exists(Path.Combine(dir, StateName))) yield return id;
        }
    }

    /// <summary>
    /// Every sandbox's state, with the status a dead owner implies (see <see cref="Effective"/>). One unreadable state
    /// does not hide the others: it goes to <paramref name="unreadable"/> (the CLI warns about each), or is skipped.
    /// </summary>
    public List<SandboxRecord> List(ICollection<SandboxStateException>? unreadable = null)
    {
        var list = new List<SandboxRecord>();
        foreach (var id in Ids())
        {
            try
            {
                if (Load(id) is SandboxRecord r) list.Add(Effective(r));
            }
            catch (SandboxStateException e) { unreadable?.Add(e); }
        }
        return list;
    }

    /// <summary>
    /// What is true now: a record that says running or paused whose owner no longer holds its lock (killed, crashed,
    /// or a previous boot) is stopped, with what is known of its exit. The reaper makes this permanent.
    /// </summary>
    public SandboxRecord Effective(SandboxRecord r)
    {
        if (r.Status is SandboxStatus.Running or SandboxStatus.Paused && !SandboxDirectory.IsOwned(DirOf(r.Id)))
        {
            // The owner may have written "stopped" between our read and the lock probe.
            var again = Load(r.Id) ?? r;
            if (again.Status is SandboxStatus.Running or SandboxStatus.Paused) return Settled(again);
            return again;
        }
        return r;
    }

    /// <summary>
    /// A running record whose holder let go, as it really ended: the exit a holding init recorded in <c>exit.json</c>
    /// (with the OOM flag from the cgroup while it is still there), else "its owner process died".
    /// </summary>
    public SandboxRecord Settled(SandboxRecord r)
    {
        if (r.HeldByInit && ReadExit(r.Id) is ExitRecord exit)
        {
            bool oom = false;
            if (exit.Signal == 9)
            {
                try { oom = Container.Cgroups.Cgroup.For(r.Id).OomKilled(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or SandboxException) { }
            }
            return r with
            {
                Status = SandboxStatus.Stopped,
                ExitCode = exit.Signal != 0 ? null : exit.Code,
                ExitSignal = exit.Signal != 0 ? exit.Signal : null,
                OomKilled = oom,
                Error = null,
                Finished = exit.Finished,
            };
        }
        return r with { Status = SandboxStatus.Stopped, Error = r.Error ?? "its owner process died", Finished = r.Finished ?? DateTimeOffset.UtcNow };
    }

    /// <summary>The exit a holding init recorded; null when there is none (it died before, or wrote nothing whole).</summary>
    public ExitRecord? ReadExit(string id)
    {
        try
        {
            var bytes = File.ReadAllBytes(PathOf(id, ExitName));
            // Only the room the host made (spaces): init wrote nothing.
            return bytes.AsSpan().Trim((byte)' ').Length == 0 ? null : JsonSerializer.Deserialize(bytes, Protocol.ControlJsonContext.Default.ExitRecord);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { return null; }
    }

    /// <summary>
    /// docker's lookup: a full id, else a name, else a unique id prefix. Unknown or ambiguous is an error (exit 125).
    /// </summary>
    public SandboxRecord Resolve(string idOrName)
    {
        if (string.IsNullOrEmpty(idOrName) || idOrName.Contains('/') || idOrName.StartsWith('.'))
            throw new SandboxException(SandboxFailure.InvalidSpec, $"no such sandbox: {idOrName}");
        if (Load(idOrName) is SandboxRecord exact) return Effective(exact);
        if (ReadName(idOrName) is string named && Load(named) is SandboxRecord byName) return Effective(byName);
        var matches = Ids().Where(id => id.StartsWith(idOrName, StringComparison.Ordinal)).ToArray();
        if (matches.Length > 1)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"ambiguous sandbox id prefix '{idOrName}': matches {string.Join(", ", matches)}");
        if (matches.Length == 1 && Load(matches[0]) is SandboxRecord byPrefix) return Effective(byPrefix);
        throw new SandboxException(SandboxFailure.InvalidSpec, $"no such sandbox: {idOrName}");
    }

    /// <summary>Takes the sandbox's command lock: commands that change one sandbox run one at a time.</summary>
    public async Task<CommandLock> LockAsync(string id, CancellationToken cancellationToken)
    {
        SafeFd fd;
        try { fd = Files.Open(PathOf(id, LockName), Files.O_RDWR | Files.O_CREAT, 0x180); }
        catch (ErrnoException e) when (e.Errno == ErrnoValues.ENOENT)
        {
            throw new SandboxException(SandboxFailure.InvalidSpec, $"no such sandbox: {id}");
        }
        int delay = 2;
        while (!Files.Flock(fd, Files.LOCK_EX | Files.LOCK_NB))
        {
            try { await Task.Delay(delay, cancellationToken).ConfigureAwait(false); }
            catch { fd.Dispose(); throw; }
            delay = Math.Min(delay * 2, 50);
        }
        if (!Directory.Exists(DirOf(id)))
        {
            fd.Dispose();
            throw new SandboxException(SandboxFailure.InvalidSpec, $"no such sandbox: {id}");
        }
        return new CommandLock(fd);
    }

    /// <summary>Removes a stopped sandbox's directory and name.</summary>
    public void Delete(SandboxRecord record)
    {
        SandboxDirectory.DeleteTree(DirOf(record.Id));
        if (record.Name is string name) ReleaseName(name, record.Id);
    }

    /// <summary>Names whose sandbox is gone (a crash between removing the directory and the link).</summary>
    public int RemoveDanglingNames()
    {
        if (!Directory.Exists(Paths.Names)) return 0;
        int removed = 0;
        foreach (var link in Directory.EnumerateFileSystemEntries(Paths.Names))
        {
            string? target;
            try { target = new FileInfo(link).LinkTarget; } catch (IOException) { continue; }
            if (target is null || target.Contains('/') || Directory.Exists(DirOf(target))) continue;
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(link) < TimeSpan.FromSeconds(30)) continue; // being created
            try { File.Delete(link); removed++; } catch (IOException) { }
        }
        return removed;
    }
}

/// <summary>A held command lock of one sandbox.</summary>
public sealed class CommandLock(SafeFd fd) : IDisposable
{
    public void Dispose() => fd.Dispose();
}
