using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>Extended attributes: set on an open fd, read from a path without following symlinks.</summary>
public static unsafe partial class Xattr
{
    [LibraryImport(Libraries.LibC, EntryPoint = "fsetxattr", SetLastError = true)]
    private static partial int FsetxattrNative(SafeFd fd, byte* name, byte* value, nuint size, int flags);

    [LibraryImport(Libraries.LibC, EntryPoint = "llistxattr", SetLastError = true)]
    private static partial nint LlistxattrNative(byte* path, byte* list, nuint size);

    [LibraryImport(Libraries.LibC, EntryPoint = "lgetxattr", SetLastError = true)]
    private static partial nint LgetxattrNative(byte* path, byte* name, byte* value, nuint size);

    public static int TrySet(SafeFd fd, string name, ReadOnlySpan<byte> value)
    {
        fixed (byte* n = Utf8Path.Of(name)) fixed (byte* v = value)
            return FsetxattrNative(fd, n, v, (nuint)value.Length, 0) < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>The extended attributes of <paramref name="path"/> (not following a final symlink); empty when unsupported.</summary>
    public static Dictionary<string, byte[]> ListNoFollow(string path)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var p = Utf8Path.Of(path);
        var list = new byte[65536];
        nint n;
        fixed (byte* pp = p) fixed (byte* lp = list) n = LlistxattrNative(pp, lp, (nuint)list.Length);
        if (n < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is ErrnoValues.EOPNOTSUPP or ErrnoValues.ENODATA) return result;
            throw new ErrnoException(errno, "llistxattr", path);
        }
        int start = 0;
        for (int i = 0; i < n; i++)
        {
            if (list[i] != 0) continue;
            var name = System.Text.Encoding.UTF8.GetString(list, start, i - start);
            start = i + 1;
            var value = new byte[65536];
            nint vn;
            fixed (byte* pp = p) fixed (byte* np = Utf8Path.Of(name)) fixed (byte* vp = value) vn = LgetxattrNative(pp, np, vp, (nuint)value.Length);
            if (vn < 0) continue; // removed meanwhile, or not readable: nothing to copy
            result[name] = value.AsSpan(0, (int)vn).ToArray();
        }
        return result;
    }
}
