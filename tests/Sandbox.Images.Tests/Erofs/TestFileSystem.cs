using System.Runtime.InteropServices;
using System.Text;

namespace Sandbox.Images.Tests.Erofs;

/// <summary>
/// The test's own syscalls for building and inspecting trees (lstat via statx, xattrs, mknod, lchown, utimensat),
/// written apart from the writer's so that a bug there is not mirrored here.
/// </summary>
internal static unsafe partial class TestFileSystem
{
    private const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100;

    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Statx
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
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxCall(int dirfd, string path, int flags, uint mask, Statx* buf);

    [LibraryImport("libc", EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LListXattr(string path, byte* list, nuint size);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LGetXattr(string path, string name, byte* value, nuint size);

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LSetXattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MknodCall(string path, uint mode, ulong dev);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LchownCall(string path, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Utimensat(int dirfd, string path, Timespec* times, int flags);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkCall(string existing, string newPath);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChmodCall(string path, uint mode);


    public readonly record struct Status(uint Mode, uint Uid, uint Gid, uint Nlink, ulong Ino, ulong Size,
        long MtimeSec, uint MtimeNsec, uint RdevMajor, uint RdevMinor);

    public static Status LStat(string path)
    {
        Statx s;
        if (StatxCall(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0x7ff, &s) != 0) throw Error("statx", path);
        return new Status(s.Mode, s.Uid, s.Gid, s.Nlink, s.Ino, s.Size, s.MtimeSec, s.MtimeNsec, s.RdevMajor, s.RdevMinor);
    }

    public static SortedDictionary<string, string> ListXattrs(string path)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        nint n = LListXattr(path, null, 0);
        if (n < 0) throw Error("llistxattr", path);
        if (n == 0) return result;
        byte[] list = new byte[n];
        fixed (byte* l = list) n = LListXattr(path, l, (nuint)list.Length);
        if (n < 0) throw Error("llistxattr", path);
        foreach (string name in Encoding.UTF8.GetString(list, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            nint size = LGetXattr(path, name, null, 0);
            if (size < 0) throw Error("lgetxattr", path);
            byte[] value = new byte[size];
            fixed (byte* v = value) size = LGetXattr(path, name, v, (nuint)value.Length);
            if (size < 0) throw Error("lgetxattr", path);
            result[name] = Convert.ToHexString(value, 0, (int)size);
        }
        return result;
    }

    public static void SetXattr(string path, string name, byte[] value)
    {
        fixed (byte* v = value)
            if (LSetXattr(path, name, v, (nuint)value.Length, 0) != 0) throw Error("lsetxattr", path);
    }

    public static void Mknod(string path, uint mode, uint major, uint minor)
    {
        ulong dev = ((ulong)(major & 0xfff) << 8) | (minor & 0xff) | ((ulong)(minor & ~0xffu) << 12);
        if (MknodCall(path, mode, dev) != 0) throw Error("mknod", path);
    }

    public static void Lchown(string path, uint uid, uint gid)
    {
        if (LchownCall(path, uid, gid) != 0) throw Error("lchown", path);
    }

    /// <summary>A hard link <paramref name="newPath"/> to <paramref name="existing"/>.</summary>
    public static void Link(string newPath, string existing)
    {
        if (LinkCall(existing, newPath) != 0) throw Error("link", newPath);
    }

    public static void Chmod(string path, uint mode)
    {
        if (ChmodCall(path, mode) != 0) throw Error("chmod", path);
    }

    /// <summary>Sets mtime (and atime) without following a final symlink.</summary>
    public static void SetMtime(string path, long sec, long nsec)
    {
        Timespec* t = stackalloc Timespec[2];
        t[0] = new Timespec { Sec = sec, Nsec = nsec };
        t[1] = new Timespec { Sec = sec, Nsec = nsec };
        if (Utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW) != 0) throw Error("utimensat", path);
    }

    private static IOException Error(string call, string path) =>
        new($"{call} {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
}
