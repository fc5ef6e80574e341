using Sandbox.Interop.Libc;

namespace Sandbox.Core;

/// <summary>
/// A sandbox's state directory <c>run/&lt;id&gt;</c>, the same for both backends: the backend's scratch (overlay
/// upper/work dirs and rootfs mount point; the VM's channel socket and console log) beside the lifecycle's state
/// (<c>state.json</c>, the log, the control socket; see docs/lifecycle.md). Whoever holds the running
/// <see cref="ISandbox"/> holds an exclusive <c>flock</c> on <c>owner.lock</c> for as long as the sandbox runs; the
/// kernel drops it when that process dies, so "is the owner alive" never depends on pid reuse or on the boot.
/// </summary>
public sealed class SandboxDirectory : IDisposable
{
    public const string OwnerLockName = "owner.lock";

    /// <summary>Written by a backend when its sandbox ended cleanly (library use without the lifecycle's state).</summary>
    public const string ExitedName = "exited";

    private readonly SafeFd _ownerLock;

    private SandboxDirectory(string id, string dir, SafeFd ownerLock)
    {
        Id = id;
        Dir = dir;
        _ownerLock = ownerLock;
    }

    public string Id { get; }
    public string Dir { get; }

    public string PathOf(string name) => Path.Combine(Dir, name);

    /// <summary>
    /// Creates <c>run/&lt;id&gt;</c> for a new sandbox with its owner lock already held: the lock file is locked
    /// before it is moved into the directory, so no reaper ever sees the directory unowned.
    /// </summary>
    public static SandboxDirectory Create(SandboxPaths paths, string id)
    {
        try
        {
            Directory.CreateDirectory(paths.Run);
            var tempLock = Path.Combine(paths.Run, $".{id}.lock");
            var fd = Files.Open(tempLock, Files.O_RDWR | Files.O_CREAT, 0x180 /* 0600 */);
            Files.Flock(fd, Files.LOCK_EX);
            var dir = paths.Sandbox(id);
            // 0711: private to root, but traversable, so that a --userns sandbox's mapped root reaches the subdirs
            // chowned to it (the idmapped lower, upper and work dirs).
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            File.Move(tempLock, Path.Combine(dir, OwnerLockName));
            return new SandboxDirectory(id, dir, fd);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ErrnoException)
        {
            throw new SandboxException(SandboxFailure.Host, $"cannot create the sandbox directory under {paths.Run}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Takes ownership of the existing directory of sandbox <paramref name="id"/> (made by the lifecycle's create).
    /// Fails when another process owns it (the sandbox is running).
    /// </summary>
    public static SandboxDirectory Claim(SandboxPaths paths, string id)
    {
        var dir = paths.Sandbox(id);
        if (!Directory.Exists(dir))
            throw new SandboxException(SandboxFailure.InvalidSpec, $"no such sandbox: {id}");
        SafeFd fd;
        try { fd = Files.Open(Path.Combine(dir, OwnerLockName), Files.O_RDWR | Files.O_CREAT, 0x180); }
        catch (ErrnoException e) { throw new SandboxException(SandboxFailure.Host, $"cannot open the owner lock of sandbox {id}: {e.Message}", e); }
        // Readers probe the lock with a brief shared lock; give them a moment.
        var deadline = DateTime.UtcNow.AddSeconds(2);
        while (!Files.Flock(fd, Files.LOCK_EX | Files.LOCK_NB))
        {
            if (DateTime.UtcNow > deadline)
            {
                fd.Dispose();
                throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {id} is already running");
            }
            Thread.Sleep(2);
        }
        try { File.Delete(Path.Combine(dir, ExitedName)); } catch (IOException) { }
        return new SandboxDirectory(id, dir, fd);
    }

    /// <summary>
    /// A duplicate of the held owner lock (the same open file, so the same flock): for a process that takes the sandbox
    /// over (a container's init, over SCM_RIGHTS). The lock stays held while any copy is open.
    /// </summary>
    public SafeFd DuplicateOwnerLock() => Files.Dup(_ownerLock);

    /// <summary>Whether a live process owns the sandbox in <paramref name="dir"/> (holds its owner lock).</summary>
    public static bool IsOwned(string dir) => IsLocked(Path.Combine(dir, OwnerLockName));

    /// <summary>
    /// Whether a live process holds a flock on <paramref name="path"/> (a file or a directory). A path that is gone is
    /// not locked.
    /// </summary>
    public static bool IsLocked(string path)
    {
        SafeFd fd;
        try { fd = Files.Open(path, Files.O_RDONLY | Files.O_CLOEXEC); }
        catch (ErrnoException) { return false; }
        using (fd) return !Files.Flock(fd, Files.LOCK_SH | Files.LOCK_NB);
    }

    /// <summary>Blocks until nobody owns the sandbox in <paramref name="dir"/> (its owner exited or died).</summary>
    public static void WaitUnowned(string dir)
    {
        SafeFd fd;
        try { fd = Files.Open(Path.Combine(dir, OwnerLockName), Files.O_RDONLY); }
        catch (ErrnoException) { return; }
        using (fd) Files.Flock(fd, Files.LOCK_SH);
    }

    /// <summary>The sandbox ended and its directory stays (no <c>--rm</c>): marks it so, and gives up ownership.</summary>
    public void KeepExited()
    {
        try { File.WriteAllText(PathOf(ExitedName), DateTime.UtcNow.ToString("O")); } catch (IOException) { }
        Dispose();
    }

    /// <summary>Removes the whole directory (and gives up ownership).</summary>
    public void Remove()
    {
        DeleteTree(Dir);
        Dispose();
    }

    /// <summary>Removes a sandbox directory, unmounting first whatever a crash left mounted in it.</summary>
    public static void DeleteTree(string dir)
    {
        if (!Directory.Exists(dir)) return;
        // A mount still on the tree (a crash between mount and cleanup) must go first, or rm would descend into it.
        Mounts.TryUnmount(Path.Combine(dir, "rootfs"));
        Mounts.TryUnmount(Path.Combine(dir, "lower"));
        try { Directory.Delete(dir, recursive: true); }
        catch (DirectoryNotFoundException) { }
        catch (UnauthorizedAccessException)
        {
            // overlayfs leaves work/work with mode 000.
            foreach (var d in Directory.EnumerateDirectories(dir, "*", SearchOption.AllDirectories))
            {
                try { File.SetUnixFileMode(d, (UnixFileMode)0x1c0); } catch (IOException) { }
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    public void Dispose() => _ownerLock.Dispose();
}
