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
        var names = new List<string>();
        Read(fd, name, entry => names.Add(Marshal.PtrToStringUTF8(entry)!));
        return names;
    }

    /// <summary>
    /// The names in the directory <paramref name="dir"/> is open on, as the bytes they are (no "." or ".."). Reads
    /// through a fresh descriptor, so the listing starts at the first entry whatever was read through <paramref name="dir"/>.
    /// </summary>
    public static List<byte[]> ListNames(SafeFd dir, string subject)
    {
        var fd = FileAt.OpenAt(dir, "."u8, OpenFlags.ReadOnly | OpenFlags.Directory | OpenFlags.CloseOnExec, subject);
        var names = new List<byte[]>();
        Read(fd, subject, entry => names.Add(MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)entry).ToArray()));
        return names;
    }

    /// <summary>Hands each entry's NUL-terminated name (not "." or "..") to <paramref name="add"/>; takes ownership of <paramref name="fd"/>.</summary>
    private static void Read(SafeFd fd, string subject, Action<nint> add)
    {
        int raw = (int)fd.DangerousGetHandle();
        fd.SetHandleAsInvalid();
        nint dir = FdopendirNative(raw);
        if (dir == 0)
        {
            var e = ErrnoException.FromLastError("fdopendir", subject);
            new SafeFd(raw).Dispose();
            throw e;
        }
        try
        {
            while (true)
            {
                nint ent = ReaddirNative(dir);
                if (ent == 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != 0) throw new ErrnoException(errno, "readdir", subject);
                    break;
                }
                byte* name = (byte*)(ent + NameOffset);
                if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
                add(ent + NameOffset);
            }
        }
        finally
        {
            ClosedirNative(dir);
        }
    }
}
