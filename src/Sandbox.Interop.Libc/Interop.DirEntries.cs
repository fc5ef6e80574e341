using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>Reads a directory's entry names through an fd (<c>fdopendir</c>/<c>readdir</c>), never by path.</summary>
public static unsafe partial class DirEntries
{
    [LibraryImport(Libraries.LibC, EntryPoint = "fdopendir", SetLastError = true)]
    private static partial nint FdopendirNative(int fd);

    [LibraryImport(Libraries.LibC, EntryPoint = "readdir", SetLastError = true)]
    private static partial nint ReaddirNative(nint dir);

    [LibraryImport(Libraries.LibC, EntryPoint = "closedir", SetLastError = true)]
    private static partial int ClosedirNative(nint dir);

    // struct dirent (glibc, 64-bit): d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name[256].
    private const int NameOffset = 19;

    /// <summary>The names in directory <paramref name="name"/> under <paramref name="parent"/> (no "." or "..").</summary>
    public static List<string> List(SafeFd parent, string name)
    {
        // fdopendir takes ownership of the fd: hand it a fresh one so the caller's stays theirs.
        var fd = FileAt.OpenAt(parent, name, OpenFlags.ReadOnly | OpenFlags.Directory | OpenFlags.NoFollow | OpenFlags.CloseOnExec);
        int raw = (int)fd.DangerousGetHandle();
        fd.SetHandleAsInvalid();
        nint dir = FdopendirNative(raw);
        if (dir == 0)
        {
            var e = ErrnoException.FromLastError("fdopendir", name);
            new SafeFd(raw).Dispose();
            throw e;
        }
        var names = new List<string>();
        try
        {
            while (true)
            {
                nint ent = ReaddirNative(dir);
                if (ent == 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != 0) throw new ErrnoException(errno, "readdir", name);
                    break;
                }
                var entryName = Marshal.PtrToStringUTF8(ent + NameOffset)!;
                if (entryName is "." or "..") continue;
                names.Add(entryName);
            }
        }
        finally
        {
            ClosedirNative(dir);
        }
        return names;
    }
}
