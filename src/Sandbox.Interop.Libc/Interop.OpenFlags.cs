namespace Sandbox.Interop.Libc;

/// <summary><c>open(2)</c> flags (x86-64 / generic values).</summary>
public static class OpenFlags
{
    public const int ReadOnly = 0x0;
    public const int WriteOnly = 0x1;
    public const int ReadWrite = 0x2;
    public const int Create = 0x40;
    public const int Exclusive = 0x80;
    public const int NoCtty = 0x100;
    public const int Truncate = 0x200;
    public const int Append = 0x400;
    public const int NonBlock = 0x800;
    public const int Directory = 0x10000;
    public const int NoFollow = 0x20000;
    public const int CloseOnExec = 0x80000;
    public const int Path = 0x200000;
}

/// <summary>The errno values callers branch on.</summary>
public static class ErrnoValues
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int ENAMETOOLONG = 36;
    public const int ENOTEMPTY = 39;
    public const int ELOOP = 40;
    public const int ENODATA = 61;
    public const int EOPNOTSUPP = 95;
    public const int EWOULDBLOCK = EAGAIN;
}

/// <summary>NUL-terminated UTF-8 path bytes for the raw calls.</summary>
internal static class Utf8Path
{
    public static byte[] Of(string path)
    {
        if (path.Contains('\0')) throw new ArgumentException($"path contains a NUL byte: {path.Replace('\0', '?')}", nameof(path));
        int n = System.Text.Encoding.UTF8.GetByteCount(path);
        var bytes = new byte[n + 1];
        System.Text.Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    /// <summary>A name that is already bytes (file names in an image are bytes, not strings), NUL-terminated.</summary>
    public static byte[] Of(ReadOnlySpan<byte> path)
    {
        if (path.Contains((byte)0)) throw new ArgumentException("path contains a NUL byte", nameof(path));
        var bytes = new byte[path.Length + 1];
        path.CopyTo(bytes);
        return bytes;
    }

    /// <summary>Byte names as text for errors.</summary>
    public static string Show(ReadOnlySpan<byte> path) => System.Text.Encoding.UTF8.GetString(path);
}
