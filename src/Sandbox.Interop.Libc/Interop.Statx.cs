using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary><c>statx(2)</c>: one layout on every architecture, unlike <c>struct stat</c>.</summary>
public static unsafe partial class Statx
{
    public const uint TypeMask = 0xF000;
    public const uint TypeFifo = 0x1000;
    public const uint TypeCharDevice = 0x2000;
    public const uint TypeDirectory = 0x4000;
    public const uint TypeBlockDevice = 0x6000;
    public const uint TypeRegular = 0x8000;
    public const uint TypeSymlink = 0xA000;
    public const uint TypeSocket = 0xC000;

    private const uint BasicStats = 0x7ff;

    [StructLayout(LayoutKind.Sequential)]
    private struct StatxTimestamp
    {
        public long Seconds;
        public uint Nanoseconds;
        public int Reserved;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct StatxBuffer
    {
        public uint Mask;
        public uint BlockSize;
        public ulong Attributes;
        public uint Nlink;
        public uint Uid;
        public uint Gid;
        public ushort Mode;
        public ushort Pad1;
        public ulong Ino;
        public ulong Size;
        public ulong Blocks;
        public ulong AttributesMask;
        public StatxTimestamp Atime;
        public StatxTimestamp Btime;
        public StatxTimestamp Ctime;
        public StatxTimestamp Mtime;
        public uint RdevMajor;
        public uint RdevMinor;
        public uint DevMajor;
        public uint DevMinor;
        public fixed ulong Spare[14];
    }

    /// <summary>What <c>statx</c> says about one file.</summary>
    public readonly record struct Info(
        uint Mode, uint Uid, uint Gid, ulong Size, ulong Blocks, ulong Inode, uint Nlink,
        uint DevMajor, uint DevMinor, uint RdevMajor, uint RdevMinor, long MtimeSeconds, uint MtimeNanoseconds)
    {
        public uint Type => Mode & TypeMask;
        public uint Permissions => Mode & 0xFFF;
        public bool IsDirectory => Type == TypeDirectory;
        public bool IsSymlink => Type == TypeSymlink;
        public bool IsRegular => Type == TypeRegular;
    }

    [LibraryImport(Libraries.LibC, EntryPoint = "statx", SetLastError = true)]
    private static partial int StatxNative(SafeFd dirfd, byte* path, int flags, uint mask, StatxBuffer* buf);

    [LibraryImport(Libraries.LibC, EntryPoint = "statx", SetLastError = true)]
    private static partial int StatxCwdNative(int dirfd, byte* path, int flags, uint mask, StatxBuffer* buf);

    private const int AtFdCwd = -100;

    /// <summary>Stats <paramref name="name"/> in <paramref name="dir"/> ("" with AT_EMPTY_PATH for the fd itself).</summary>
    public static int TryGet(SafeFd dir, string name, int flags, out Info info)
    {
        StatxBuffer buf;
        int r;
        fixed (byte* p = Utf8Path.Of(name)) r = StatxNative(dir, p, flags, BasicStats, &buf);
        if (r < 0)
        {
            info = default;
            return Marshal.GetLastPInvokeError();
        }
        info = From(buf);
        return 0;
    }

    /// <summary>Stats a host path without following a final symlink (lstat).</summary>
    public static Info GetNoFollow(string path)
    {
        StatxBuffer buf;
        int r;
        fixed (byte* p = Utf8Path.Of(path)) r = StatxCwdNative(AtFdCwd, p, FileAt.AtSymlinkNoFollow, BasicStats, &buf);
        if (r < 0) throw ErrnoException.FromLastError("statx", path);
        return From(buf);
    }

    /// <summary>Stats <paramref name="name"/> (bytes) in <paramref name="dir"/> without following a final symlink.</summary>
    public static Info GetNoFollow(SafeFd dir, ReadOnlySpan<byte> name, string subject)
    {
        StatxBuffer buf;
        int r;
        fixed (byte* p = Utf8Path.Of(name)) r = StatxNative(dir, p, FileAt.AtSymlinkNoFollow, BasicStats, &buf);
        if (r < 0) throw ErrnoException.FromLastError("statx", subject);
        return From(buf);
    }

    /// <summary>Stats the file <paramref name="fd"/> is open on (AT_EMPTY_PATH).</summary>
    public static Info Get(SafeFd fd, string subject)
    {
        StatxBuffer buf;
        byte empty = 0;
        if (StatxNative(fd, &empty, FileAt.AtEmptyPath, BasicStats, &buf) < 0) throw ErrnoException.FromLastError("statx", subject);
        return From(buf);
    }

    private static Info From(in StatxBuffer b) => new(
        b.Mode, b.Uid, b.Gid, b.Size, b.Blocks, b.Ino, b.Nlink, b.DevMajor, b.DevMinor, b.RdevMajor, b.RdevMinor,
        b.Mtime.Seconds, b.Mtime.Nanoseconds);
}
