using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>Extended attributes: set on an open fd, read from a path (with or without following a final symlink).</summary>
public static unsafe partial class Xattr
{
    [LibraryImport(Libraries.LibC, EntryPoint = "fsetxattr", SetLastError = true)]
    private static partial int FsetxattrNative(SafeFd fd, byte* name, byte* value, nuint size, int flags);

    [LibraryImport(Libraries.LibC, EntryPoint = "llistxattr", SetLastError = true)]
    private static partial nint LlistxattrNative(byte* path, byte* list, nuint size);

    [LibraryImport(Libraries.LibC, EntryPoint = "lgetxattr", SetLastError = true)]
    private static partial nint LgetxattrNative(byte* path, byte* name, byte* value, nuint size);

    [LibraryImport(Libraries.LibC, EntryPoint = "listxattr", SetLastError = true)]
    private static partial nint ListxattrNative(byte* path, byte* list, nuint size);

    [LibraryImport(Libraries.LibC, EntryPoint = "getxattr", SetLastError = true)]
    private static partial nint GetxattrNative(byte* path, byte* name, byte* value, nuint size);

    private const int ERANGE = 34;

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

    /// <summary>
    /// Every extended attribute of <paramref name="path"/> as raw names and values, sized exactly (a list or value that
    /// grows between the two calls is read again); empty where the file system has none. An attribute removed
    /// meanwhile is left out. <paramref name="followFinalSymlink"/> picks listxattr/getxattr over llistxattr/lgetxattr.
    /// </summary>
    public static List<(byte[] Name, byte[] Value)> List(ReadOnlySpan<byte> path, bool followFinalSymlink, string subject)
    {
        var result = new List<(byte[], byte[])>();
        fixed (byte* p = Utf8Path.Of(path))
        {
            byte[] list;
            nint n;
            while (true)
            {
                n = followFinalSymlink ? ListxattrNative(p, null, 0) : LlistxattrNative(p, null, 0);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == ErrnoValues.EOPNOTSUPP) return result;
                    throw new ErrnoException(errno, "listxattr", subject);
                }
                if (n == 0) return result;
                list = new byte[n];
                fixed (byte* l = list) n = followFinalSymlink ? ListxattrNative(p, l, (nuint)list.Length) : LlistxattrNative(p, l, (nuint)list.Length);
                if (n >= 0) break;
                if (Marshal.GetLastPInvokeError() != ERANGE) throw ErrnoException.FromLastError("listxattr", subject);
            }
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (list[i] != 0) continue;
                byte[] name = list.AsSpan(start, i - start).ToArray();
                start = i + 1;
                if (Get(p, name, followFinalSymlink, subject) is byte[] value) result.Add((name, value));
            }
        }
        return result;
    }

    private static byte[]? Get(byte* path, byte[] name, bool followFinalSymlink, string subject)
    {
        fixed (byte* a = Utf8Path.Of(name))
        {
            while (true)
            {
                nint n = followFinalSymlink ? GetxattrNative(path, a, null, 0) : LgetxattrNative(path, a, null, 0);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == ErrnoValues.ENODATA) return null; // removed meanwhile
                    throw ErrnoException.FromLastError("getxattr", $"{subject} ({Utf8Path.Show(name)})");
                }
                byte[] value = new byte[n];
                fixed (byte* v = value) n = followFinalSymlink ? GetxattrNative(path, a, v, (nuint)value.Length) : LgetxattrNative(path, a, v, (nuint)value.Length);
                if (n >= 0) return value.AsSpan(0, (int)n).ToArray();
                if (Marshal.GetLastPInvokeError() != ERANGE) throw ErrnoException.FromLastError("getxattr", $"{subject} ({Utf8Path.Show(name)})");
            }
        }
    }
}
