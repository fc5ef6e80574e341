using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Images;

/// <summary>A held <c>flock</c> on a lock file; released (and closed) on dispose, or by the kernel if we die.</summary>
internal sealed class FileLock : IDisposable
{
    private readonly SafeFd _fd;

    private FileLock(SafeFd fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    public string Path { get; }

    /// <summary>The locked file (for handing a duplicate of the lock to another process).</summary>
    public SafeFd Fd => _fd;

    private static SafeFd OpenLockFile(string path) =>
        FileAt.OpenAt(HostFs.Cwd, path, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.CloseOnExec | OpenFlags.NoFollow, 0b110_100_100);

    /// <summary>Takes the lock, waiting (asynchronously, cancellably) while someone else holds it.</summary>
    public static async Task<FileLock> AcquireAsync(string path, bool exclusive, CancellationToken ct)
    {
        var fd = OpenLockFile(path);
        try
        {
            int op = (exclusive ? Flock.Exclusive : Flock.Shared) | Flock.NonBlocking;
            int delay = 5;
            while (true)
            {
                int errno = Flock.TryLock(fd, op);
                if (errno == 0) return new FileLock(fd, path);
                if (errno != ErrnoValues.EWOULDBLOCK) throw new ErrnoException(errno, "flock", path);
                await Task.Delay(delay, ct).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 100);
            }
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Takes the lock only if nobody holds a conflicting one.</summary>
    public static FileLock? TryAcquire(string path, bool exclusive)
    {
        var fd = OpenLockFile(path);
        int errno = Flock.TryLock(fd, (exclusive ? Flock.Exclusive : Flock.Shared) | Flock.NonBlocking);
        if (errno == 0) return new FileLock(fd, path);
        fd.Dispose();
        if (errno == ErrnoValues.EWOULDBLOCK) return null;
        throw new SandboxException(SandboxFailure.Host, $"cannot lock {path}", new ErrnoException(errno, "flock", path));
    }

    public void Dispose() => _fd.Dispose();
}
