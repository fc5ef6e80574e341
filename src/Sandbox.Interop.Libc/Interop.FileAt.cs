using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>
/// The <c>*at(2)</c> family: every call names its target relative to a directory fd, so a caller that resolved the
/// directory safely (see <see cref="OpenAt2"/>) never lets the kernel walk an untrusted path again.
/// </summary>
public static unsafe partial class FileAt
{
    public const int AtSymlinkNoFollow = 0x100;
    public const int AtRemoveDir = 0x200;
    public const int AtSymlinkFollow = 0x400;
    public const int AtEmptyPath = 0x1000;

    /// <summary><c>UTIME_OMIT</c>: leave this time as it is.</summary>
    public const long UtimeOmit = (1L << 30) - 2;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;

        public static Timespec FromDateTimeOffset(DateTimeOffset t)
        {
            long ticks = (t.UtcDateTime - DateTime.UnixEpoch).Ticks;
            long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem);
            if (rem < 0) { seconds--; rem += TimeSpan.TicksPerSecond; }
            return new Timespec { Seconds = seconds, Nanoseconds = rem * 100 };
        }
    }

    [LibraryImport(Libraries.LibC, EntryPoint = "openat", SetLastError = true)]
    private static partial int OpenAtNative(SafeFd dirfd, byte* path, int flags, uint mode);

    [LibraryImport(Libraries.LibC, EntryPoint = "mkdirat", SetLastError = true)]
    private static partial int MkdirAtNative(SafeFd dirfd, byte* path, uint mode);

    [LibraryImport(Libraries.LibC, EntryPoint = "symlinkat", SetLastError = true)]
    private static partial int SymlinkAtNative(byte* target, SafeFd dirfd, byte* path);

    [LibraryImport(Libraries.LibC, EntryPoint = "linkat", SetLastError = true)]
    private static partial int LinkAtNative(SafeFd olddirfd, byte* oldpath, SafeFd newdirfd, byte* newpath, int flags);

    [LibraryImport(Libraries.LibC, EntryPoint = "unlinkat", SetLastError = true)]
    private static partial int UnlinkAtNative(SafeFd dirfd, byte* path, int flags);

    [LibraryImport(Libraries.LibC, EntryPoint = "fchownat", SetLastError = true)]
    private static partial int FchownAtNative(SafeFd dirfd, byte* path, uint uid, uint gid, int flags);

    [LibraryImport(Libraries.LibC, EntryPoint = "fchown", SetLastError = true)]
    private static partial int FchownNative(SafeFd fd, uint uid, uint gid);

    [LibraryImport(Libraries.LibC, EntryPoint = "fchmod", SetLastError = true)]
    private static partial int FchmodNative(SafeFd fd, uint mode);

    [LibraryImport(Libraries.LibC, EntryPoint = "fchmodat", SetLastError = true)]
    private static partial int FchmodAtNative(SafeFd dirfd, byte* path, uint mode, int flags);

    [LibraryImport(Libraries.LibC, EntryPoint = "utimensat", SetLastError = true)]
    private static partial int UtimensAtNative(SafeFd dirfd, byte* path, Timespec* times, int flags);

    [LibraryImport(Libraries.LibC, EntryPoint = "futimens", SetLastError = true)]
    private static partial int FutimensNative(SafeFd fd, Timespec* times);

    [LibraryImport(Libraries.LibC, EntryPoint = "mknodat", SetLastError = true)]
    private static partial int MknodAtNative(SafeFd dirfd, byte* path, uint mode, ulong dev);

    [LibraryImport(Libraries.LibC, EntryPoint = "readlinkat", SetLastError = true)]
    private static partial nint ReadlinkAtNative(SafeFd dirfd, byte* path, byte* buf, nuint size);

    private static int Result(long r) => r < 0 ? Marshal.GetLastPInvokeError() : 0;

    public static int TryOpenAt(SafeFd dir, string name, int flags, uint mode, out SafeFd fd)
    {
        var p = Utf8Path.Of(name);
        int r;
        do
        {
            fixed (byte* pp = p) r = OpenAtNative(dir, pp, flags, mode);
        } while (r < 0 && Marshal.GetLastPInvokeError() == ErrnoValues.EINTR);
        if (r < 0)
        {
            fd = new SafeFd();
            return Marshal.GetLastPInvokeError();
        }
        fd = new SafeFd(r);
        return 0;
    }

    public static SafeFd OpenAt(SafeFd dir, string name, int flags, uint mode = 0)
    {
        int errno = TryOpenAt(dir, name, flags, mode, out var fd);
        return errno == 0 ? fd : throw new ErrnoException(errno, "openat", name);
    }

    /// <summary>openat of a name that is bytes; throws with <paramref name="subject"/>.</summary>
    public static SafeFd OpenAt(SafeFd dir, ReadOnlySpan<byte> name, int flags, string subject)
    {
        var p = Utf8Path.Of(name);
        int r;
        do
        {
            fixed (byte* pp = p) r = OpenAtNative(dir, pp, flags, 0);
        } while (r < 0 && Marshal.GetLastPInvokeError() == ErrnoValues.EINTR);
        return r >= 0 ? new SafeFd(r) : throw ErrnoException.FromLastError("openat", subject);
    }

    public static int TryMkdirAt(SafeFd dir, string name, uint mode)
    {
        fixed (byte* p = Utf8Path.Of(name)) return Result(MkdirAtNative(dir, p, mode));
    }

    public static int TrySymlinkAt(string target, SafeFd dir, string name)
    {
        fixed (byte* t = Utf8Path.Of(target)) fixed (byte* p = Utf8Path.Of(name)) return Result(SymlinkAtNative(t, dir, p));
    }

    public static int TryLinkAt(SafeFd oldDir, string oldName, SafeFd newDir, string newName, int flags)
    {
        fixed (byte* o = Utf8Path.Of(oldName)) fixed (byte* n = Utf8Path.Of(newName))
            return Result(LinkAtNative(oldDir, o, newDir, n, flags));
    }

    public static int TryUnlinkAt(SafeFd dir, string name, int flags)
    {
        fixed (byte* p = Utf8Path.Of(name)) return Result(UnlinkAtNative(dir, p, flags));
    }

    public static int TryChownAt(SafeFd dir, string name, int uid, int gid, int flags)
    {
        fixed (byte* p = Utf8Path.Of(name)) return Result(FchownAtNative(dir, p, (uint)uid, (uint)gid, flags));
    }

    public static int TryChown(SafeFd fd, int uid, int gid) => Result(FchownNative(fd, (uint)uid, (uint)gid));

    public static int TryChmod(SafeFd fd, uint mode) => Result(FchmodNative(fd, mode));

    /// <summary>chmod of <paramref name="name"/> in <paramref name="dir"/> (follows a final symlink: callers pass non-links).</summary>
    public static int TryChmodAt(SafeFd dir, string name, uint mode)
    {
        fixed (byte* p = Utf8Path.Of(name)) return Result(FchmodAtNative(dir, p, mode, 0));
    }

    /// <summary>Sets access and modification times of <paramref name="name"/> in <paramref name="dir"/>.</summary>
    public static int TrySetTimesAt(SafeFd dir, string name, Timespec atime, Timespec mtime, int flags)
    {
        var times = stackalloc Timespec[2];
        times[0] = atime;
        times[1] = mtime;
        fixed (byte* p = Utf8Path.Of(name)) return Result(UtimensAtNative(dir, p, times, flags));
    }

    public static int TrySetTimes(SafeFd fd, Timespec atime, Timespec mtime)
    {
        var times = stackalloc Timespec[2];
        times[0] = atime;
        times[1] = mtime;
        return Result(FutimensNative(fd, times));
    }

    public static int TryMknodAt(SafeFd dir, string name, uint mode, ulong dev)
    {
        fixed (byte* p = Utf8Path.Of(name)) return Result(MknodAtNative(dir, p, mode, dev));
    }

    /// <summary>The target of the symlink <paramref name="name"/> in <paramref name="dir"/>.</summary>
    public static string ReadLinkAt(SafeFd dir, string name)
    {
        var buf = new byte[4096];
        nint n;
        fixed (byte* p = Utf8Path.Of(name)) fixed (byte* b = buf) n = ReadlinkAtNative(dir, p, b, (nuint)buf.Length);
        if (n < 0) throw ErrnoException.FromLastError("readlinkat", name);
        return System.Text.Encoding.UTF8.GetString(buf, 0, (int)n);
    }

    /// <summary>The target of the symlink <paramref name="name"/> in <paramref name="dir"/>, as the bytes it holds.</summary>
    public static byte[] ReadLinkAt(SafeFd dir, ReadOnlySpan<byte> name, string subject)
    {
        var buf = new byte[4097];
        nint n;
        fixed (byte* p = Utf8Path.Of(name)) fixed (byte* b = buf) n = ReadlinkAtNative(dir, p, b, (nuint)buf.Length);
        if (n < 0) throw ErrnoException.FromLastError("readlinkat", subject);
        if (n >= buf.Length) throw new ErrnoException(ErrnoValues.ENAMETOOLONG, "readlinkat", subject);
        return buf.AsSpan(0, (int)n).ToArray();
    }

    public static void Check(int errno, string call, string subject)
    {
        if (errno != 0) throw new ErrnoException(errno, call, subject);
    }
}
