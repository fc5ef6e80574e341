using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Container;

/// <summary>
/// A sandbox's directory <c>run/&lt;id&gt;</c>: overlay upper/work dirs, the rootfs mount point, and a lock file
/// the owning <c>sandbox</c> process holds (flock) for the sandbox's whole life. A directory whose lock nobody holds
/// belongs to a dead process; <see cref="StaleSandboxReaper"/> removes it with its cgroups.
/// </summary>
public sealed class SandboxState : IDisposable
{
    public const string LockName = "lock", ExitedName = "exited";

    private readonly SafeFd _lock;

    private SandboxState(string dir, SafeFd lockFd)
    {
        Dir = dir;
        _lock = lockFd;
    }

    public string Dir { get; }
    public string Upper => Path.Combine(Dir, "upper");
    public string Work => Path.Combine(Dir, "work");
    public string Rootfs => Path.Combine(Dir, "rootfs");

    /// <summary>Creates <c>run/&lt;id&gt;</c> with its lock already held (the lock is taken before it becomes visible).</summary>
    public static SandboxState Create(SandboxPaths paths, string id)
    {
        try
        {
            Directory.CreateDirectory(paths.Run);
            var tempLock = Path.Combine(paths.Run, $".{id}.lock");
            var fd = Files.Open(tempLock, Files.O_RDWR | Files.O_CREAT, 0x180 /* 0600 */);
            Files.Flock(fd, Files.LOCK_EX);
            Files.WriteAll(fd, System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString()));
            var dir = Path.Combine(paths.Run, id);
            Directory.CreateDirectory(dir);
            File.Move(tempLock, Path.Combine(dir, LockName));
            var state = new SandboxState(dir, fd);
            foreach (var d in new[] { state.Upper, state.Work, state.Rootfs }) Directory.CreateDirectory(d);
            return state;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ErrnoException)
        {
            throw new SandboxException(SandboxFailure.Host, $"cannot create the sandbox directory under {paths.Run}: {e.Message}", e);
        }
    }

    /// <summary>Removes everything (the writable layer included).</summary>
    public void Remove()
    {
        DeleteTree(Dir);
        Dispose();
    }

    /// <summary>Keeps the writable layer (no <c>--rm</c>), drops the scratch dirs and marks the sandbox exited.</summary>
    public void KeepExited()
    {
        DeleteTree(Work);
        try { Directory.Delete(Rootfs); } catch (IOException) { }
        try { File.WriteAllText(Path.Combine(Dir, ExitedName), DateTime.UtcNow.ToString("O")); } catch (IOException) { }
        Dispose();
    }

    internal static void DeleteTree(string dir)
    {
        if (!Directory.Exists(dir)) return;
        // Any mount still on the tree (a crash between mount and cleanup) must go first, or rm would descend into it.
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

    public void Dispose() => _lock.Dispose();
}
