using Sandbox.Interop.Libc;

namespace Sandbox.Images;

/// <summary>
/// A scratch directory inside the store (<c>tmp/ID</c>) owned by this process through an flock on <c>tmp/ID.lock</c>.
/// The lock is taken before the directory exists, so a directory whose lock nobody holds was left by a dead process
/// and <see cref="CollectStale"/> may remove it.
/// </summary>
internal sealed class TempWorkspace : IDisposable
{
    private readonly SafeFd _lock;
    private readonly string _lockPath;

    private TempWorkspace(string path, string lockPath, SafeFd lockFd)
    {
        Path = path;
        _lockPath = lockPath;
        _lock = lockFd;
    }

    public string Path { get; }

    public static TempWorkspace Create(StoreLayout layout, string purpose)
    {
        Directory.CreateDirectory(layout.Temp);
        while (true)
        {
            var id = $"{purpose}-{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))}";
            var lockPath = System.IO.Path.Combine(layout.Temp, id + ".lock");
            int errno = FileAt.TryOpenAt(HostFs.Cwd, lockPath,
                OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive | OpenFlags.NoFollow | OpenFlags.CloseOnExec, 0b110_000_000, out var fd);
            if (errno == ErrnoValues.EEXIST) continue;
            if (errno != 0) throw new ErrnoException(errno, "open", lockPath);
            int lerr = Flock.TryLock(fd, Flock.Exclusive | Flock.NonBlocking);
            if (lerr != 0 && lerr != ErrnoValues.EWOULDBLOCK)
            {
                fd.Dispose();
                throw new ErrnoException(lerr, "flock", lockPath);
            }
            // Between our create and our flock, a collector may have taken the (then free) lock, judged it stale and
            // deleted the file: then we hold a lock on an unlinked file. Start over with a new id.
            if (lerr != 0 || !IsSameFile(fd, lockPath))
            {
                fd.Dispose();
                continue;
            }
            var path = System.IO.Path.Combine(layout.Temp, id);
            Directory.CreateDirectory(path);
            return new TempWorkspace(path, lockPath, fd);
        }
    }

    /// <summary>Removes work directories whose owner is gone (its lock is free, or it never had one).</summary>
    public static int CollectStale(StoreLayout layout)
    {
        if (!Directory.Exists(layout.Temp)) return 0;
        int removed = 0;
        foreach (var entry in Directory.EnumerateFileSystemEntries(layout.Temp))
        {
            var name = System.IO.Path.GetFileName(entry);
            if (name.EndsWith(".lock", StringComparison.Ordinal))
            {
                SafeFd fd;
                if (FileAt.TryOpenAt(HostFs.Cwd, entry, OpenFlags.ReadWrite | OpenFlags.NoFollow | OpenFlags.CloseOnExec, 0, out fd) != 0)
                    continue;
                using (fd)
                {
                    if (Flock.TryLock(fd, Flock.Exclusive | Flock.NonBlocking) != 0) continue; // its owner is alive
                    if (!IsSameFile(fd, entry)) continue; // collected and re-created meanwhile
                    HostFs.RemoveTree(entry[..^5]);
                    File.Delete(entry);
                    removed++;
                }
            }
            else if (!File.Exists(entry + ".lock"))
            {
                // The owner takes its lock before creating the directory: no lock means the owner died mid-cleanup.
                HostFs.RemoveTree(entry);
                removed++;
            }
        }
        return removed;
    }

    /// <summary>Whether <paramref name="path"/> still names the file <paramref name="fd"/> has open.</summary>
    private static bool IsSameFile(SafeFd fd, string path)
    {
        if (Statx.TryGet(fd, "", FileAt.AtEmptyPath, out var held) != 0) return false;
        if (Statx.TryGet(HostFs.Cwd, path, FileAt.AtSymlinkNoFollow, out var named) != 0) return false;
        return held.Inode == named.Inode && held.DevMajor == named.DevMajor && held.DevMinor == named.DevMinor;
    }

    public void Dispose()
    {
        try
        {
            HostFs.RemoveTree(Path);
            File.Delete(_lockPath);
        }
        finally
        {
            _lock.Dispose();
        }
    }
}
