using System.Runtime.InteropServices;
using Sandbox.Interop.Libc;

namespace Sandbox.Images.Erofs;

/// <summary>
/// The few libc calls the EROFS writer needs to read a source tree without following symlinks:
/// statx, openat2 (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), getdents64, readlinkat and the l*xattr family.
/// Kept here, byte-path based, because file names in an image are bytes, not strings.
/// </summary>
/// <remarks>Candidate to move into Sandbox.Interop.Libc once that assembly has a file-tree family.</remarks>
internal static unsafe partial class SourceTreeInterop
{
    private const string LibC = "libc";
    public const int O_RDONLY = 0, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000;
    public const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
    private const ulong RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08;
    private const long SYS_openat2 = 437;
    private const int ENODATA = 61, ENOTSUP = 95, ERANGE = 34, EINTR = 4;
    private const uint STATX_BASIC_STATS = 0x7ff;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(16)] public uint Nlink;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Ino;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(112)] public long MtimeSec;
        [FieldOffset(120)] public uint MtimeNsec;
        [FieldOffset(128)] public uint RdevMajor;
        [FieldOffset(132)] public uint RdevMinor;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
    }

    [LibraryImport(LibC, SetLastError = true)]
    private static partial int statx(int dirfd, byte* path, int flags, uint mask, StatxBuffer* buf);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial int openat(int dirfd, byte* path, int flags, int mode);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial long syscall(long number, int dirfd, byte* path, OpenHow* how, nuint size);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial nint getdents64(int fd, byte* buffer, nuint count);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial nint readlinkat(int dirfd, byte* path, byte* buffer, nuint size);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial nint llistxattr(byte* path, byte* list, nuint size);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial nint lgetxattr(byte* path, byte* name, byte* value, nuint size);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial int close(int fd);

    /// <summary>Metadata of one file, not following a final symlink.</summary>
    public readonly record struct FileStatus(
        uint Mode, uint Uid, uint Gid, uint Nlink, ulong Ino, ulong Size, long MtimeSec, uint MtimeNsec,
        uint RdevMajor, uint RdevMinor, uint DevMajor, uint DevMinor);

    private static byte[] Terminated(ReadOnlySpan<byte> path)
    {
        var b = new byte[path.Length + 1];
        path.CopyTo(b);
        return b;
    }

    private static string Show(ReadOnlySpan<byte> path) => System.Text.Encoding.UTF8.GetString(path);

    public static FileStatus Stat(SafeFd dir, ReadOnlySpan<byte> name, string subject)
    {
        byte[] p = Terminated(name);
        StatxBuffer sb;
        int rc;
        fixed (byte* pp = p) rc = statx(dir.Fd, pp, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sb);
        if (rc != 0) throw ErrnoException.FromLastError("statx", subject);
        return ToStatus(sb);
    }

    public static FileStatus Stat(SafeFd fd, string subject)
    {
        StatxBuffer sb;
        byte empty = 0;
        if (statx(fd.Fd, &empty, AT_EMPTY_PATH, STATX_BASIC_STATS, &sb) != 0)
            throw ErrnoException.FromLastError("statx", subject);
        return ToStatus(sb);
    }

    private static FileStatus ToStatus(in StatxBuffer sb) => new(
        sb.Mode, sb.Uid, sb.Gid, sb.Nlink, sb.Ino, sb.Size, sb.MtimeSec, sb.MtimeNsec,
        sb.RdevMajor, sb.RdevMinor, sb.DevMajor, sb.DevMinor);

    /// <summary>Opens a directory given by a caller-supplied path (the tree's root; symlinks in it are the caller's choice).</summary>
    public static SafeFd OpenRoot(string path)
    {
        byte[] p = Terminated(System.Text.Encoding.UTF8.GetBytes(path));
        int fd;
        fixed (byte* pp = p) fd = openat(AT_FDCWD, pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) throw ErrnoException.FromLastError("open", path);
        return new SafeFd(fd);
    }

    /// <summary>
    /// Opens <paramref name="relativePath"/> beneath <paramref name="root"/> with no symlink followed anywhere on the
    /// way (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a tree changed under us fails instead of leaking host files.
    /// </summary>
    public static SafeFd OpenBeneath(SafeFd root, ReadOnlySpan<byte> relativePath, int flags)
    {
        byte[] p = Terminated(relativePath);
        var how = new OpenHow
        {
            Flags = (ulong)(flags | O_NOFOLLOW | O_CLOEXEC),
            Resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        long fd;
        while (true)
        {
            fixed (byte* pp = p) fd = syscall(SYS_openat2, root.Fd, pp, &how, (nuint)sizeof(OpenHow));
            if (fd >= 0 || Marshal.GetLastPInvokeError() != EINTR) break;
        }
        if (fd < 0) throw ErrnoException.FromLastError("openat2", Show(relativePath));
        return new SafeFd((int)fd);
    }

    /// <summary>Opens the subdirectory <paramref name="name"/> of <paramref name="dir"/>, refusing a symlink.</summary>
    public static SafeFd OpenDirectory(SafeFd dir, ReadOnlySpan<byte> name, string subject)
    {
        byte[] p = Terminated(name);
        int fd;
        fixed (byte* pp = p) fd = openat(dir.Fd, pp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        if (fd < 0) throw ErrnoException.FromLastError("open", subject);
        return new SafeFd(fd);
    }

    /// <summary>Names in a directory (without "." and ".."), as raw bytes.</summary>
    public static List<byte[]> ReadDirectory(SafeFd dir, string subject)
    {
        var names = new List<byte[]>();
        byte dot = (byte)'.';
        int fd;
        // A fresh descriptor so that the directory offset starts at 0 whatever was read before.
        byte* self = stackalloc byte[2] { dot, 0 };
        fd = openat(dir.Fd, self, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) throw ErrnoException.FromLastError("open", subject);
        try
        {
            byte[] buffer = new byte[32768];
            fixed (byte* b = buffer)
            {
                while (true)
                {
                    nint n = getdents64(fd, b, (nuint)buffer.Length);
                    if (n < 0) throw ErrnoException.FromLastError("getdents64", subject);
                    if (n == 0) break;
                    for (int off = 0; off < n;)
                    {
                        ushort reclen = *(ushort*)(b + off + 16);
                        byte* name = b + off + 19;
                        int len = 0;
                        while (off + 19 + len < off + reclen && name[len] != 0) len++;
                        var span = new ReadOnlySpan<byte>(name, len);
                        if (!(span.SequenceEqual("."u8) || span.SequenceEqual(".."u8))) names.Add(span.ToArray());
                        off += reclen;
                    }
                }
            }
        }
        finally { close(fd); }
        return names;
    }

    public static byte[] ReadLink(SafeFd dir, ReadOnlySpan<byte> name, string subject)
    {
        byte[] p = Terminated(name);
        byte[] buffer = new byte[4097];
        nint n;
        fixed (byte* pp = p) fixed (byte* b = buffer) n = readlinkat(dir.Fd, pp, b, (nuint)buffer.Length);
        if (n < 0) throw ErrnoException.FromLastError("readlinkat", subject);
        if (n >= buffer.Length) throw new ErrnoException(36 /* ENAMETOOLONG */, "readlinkat", subject);
        return buffer.AsSpan(0, (int)n).ToArray();
    }

    /// <summary>
    /// Extended attributes of <paramref name="name"/> in the directory <paramref name="dir"/>, not following a final
    /// symlink: addressed as /proc/self/fd/DIR/NAME, so the directory is the one we hold open, not a path re-walked.
    /// An empty name means the directory itself.
    /// </summary>
    public static List<(byte[] Name, byte[] Value)> ReadXattrs(SafeFd dir, ReadOnlySpan<byte> name, string subject)
    {
        byte[] prefix = System.Text.Encoding.ASCII.GetBytes($"/proc/self/fd/{dir.Fd}");
        byte[] path = name.IsEmpty
            ? Terminated(prefix)
            : Terminated([.. prefix, (byte)'/', .. name]);
        var result = new List<(byte[], byte[])>();
        fixed (byte* pp = path)
        {
            byte[] list = Array.Empty<byte>();
            nint n;
            while (true)
            {
                // For the directory itself the magic link must be followed: llistxattr on it would read procfs.
                n = name.IsEmpty ? listxattr(pp, null, 0) : llistxattr(pp, null, 0);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == ENOTSUP) return result;
                    throw new ErrnoException(errno, "listxattr", subject);
                }
                if (n == 0) return result;
                list = new byte[n];
                fixed (byte* l = list) n = name.IsEmpty ? listxattr(pp, l, (nuint)list.Length) : llistxattr(pp, l, (nuint)list.Length);
                if (n >= 0) break;
                if (Marshal.GetLastPInvokeError() != ERANGE) throw ErrnoException.FromLastError("listxattr", subject);
            }
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (list[i] != 0) continue;
                byte[] attr = list.AsSpan(start, i - start).ToArray();
                start = i + 1;
                byte[]? value = GetXattr(pp, attr, name.IsEmpty, subject);
                if (value is not null) result.Add((attr, value));
            }
        }
        return result;
    }

    private static byte[]? GetXattr(byte* path, byte[] attr, bool follow, string subject)
    {
        byte[] an = Terminated(attr);
        fixed (byte* a = an)
        {
            while (true)
            {
                nint n = follow ? getxattr(path, a, null, 0) : lgetxattr(path, a, null, 0);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == ENODATA) return null; // removed meanwhile
                    throw ErrnoException.FromLastError("getxattr", $"{subject} ({Show(attr)})");
                }
                byte[] value = new byte[n];
                fixed (byte* v = value) n = follow ? getxattr(path, a, v, (nuint)value.Length) : lgetxattr(path, a, v, (nuint)value.Length);
                if (n >= 0) return value.AsSpan(0, (int)n).ToArray();
                if (Marshal.GetLastPInvokeError() != ERANGE) throw ErrnoException.FromLastError("getxattr", $"{subject} ({Show(attr)})");
            }
        }
    }

    [LibraryImport(LibC, SetLastError = true)]
    private static partial nint listxattr(byte* path, byte* list, nuint size);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial nint getxattr(byte* path, byte* name, byte* value, nuint size);
}
