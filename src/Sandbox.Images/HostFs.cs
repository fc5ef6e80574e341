using Sandbox.Interop.Libc;

namespace Sandbox.Images;

/// <summary>File-system operations on the store's own trees that must never follow a symlink an image put there.</summary>
internal static class HostFs
{
    /// <summary><c>AT_FDCWD</c>: absolute paths passed to the <c>*at</c> calls resolve as usual.</summary>
    public static SafeFd Cwd { get; } = new(-100, ownsHandle: false);

    /// <summary>Removes <paramref name="path"/> and everything below it, without following symlinks.</summary>
    public static void RemoveTree(string path)
    {
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(path))!;
        int errno = OpenAt2.TryOpen(Cwd, parent, OpenFlags.Path | OpenFlags.Directory | OpenFlags.CloseOnExec, OpenAt2.Resolve.None, out var dir);
        if (errno == ErrnoValues.ENOENT) return;
        if (errno != 0) throw new ErrnoException(errno, "openat2", parent);
        using (dir) RemoveAt(dir, Path.GetFileName(Path.TrimEndingDirectorySeparator(path)));
    }

    /// <summary>Removes <paramref name="name"/> in <paramref name="dir"/>, recursively if it is a directory.</summary>
    public static void RemoveAt(SafeFd dir, string name)
    {
        int errno = FileAt.TryUnlinkAt(dir, name, 0);
        if (errno == 0 || errno == ErrnoValues.ENOENT) return;
        if (errno != ErrnoValues.EISDIR && errno != ErrnoValues.EPERM) throw new ErrnoException(errno, "unlinkat", name);
        int oerr = FileAt.TryOpenAt(dir, name, OpenFlags.Path | OpenFlags.Directory | OpenFlags.NoFollow | OpenFlags.CloseOnExec, 0, out var sub);
        if (oerr == ErrnoValues.ENOENT) return;
        if (oerr != 0) throw new ErrnoException(errno, "unlinkat", name);
        using (sub)
        {
            foreach (var child in DirEntries.List(sub, "."))
                RemoveAt(sub, child);
        }
        errno = FileAt.TryUnlinkAt(dir, name, FileAt.AtRemoveDir);
        if (errno != 0 && errno != ErrnoValues.ENOENT) throw new ErrnoException(errno, "rmdir", name);
    }
}
