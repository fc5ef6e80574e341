using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>
/// <c>openat2(2)</c>: path resolution the kernel keeps inside a directory (<c>RESOLVE_IN_ROOT</c>). glibc has no
/// wrapper, so it goes through <c>syscall(2)</c>.
/// </summary>
public static unsafe partial class OpenAt2
{
    /// <summary>The <c>RESOLVE_*</c> flags of <c>struct open_how</c>.</summary>
    [Flags]
    public enum Resolve : ulong
    {
        None = 0,
        NoXdev = 0x01,
        NoMagicLinks = 0x02,
        NoSymlinks = 0x04,
        Beneath = 0x08,
        InRoot = 0x10,
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    private const long SysOpenat2X64 = 437;

    [LibraryImport(Libraries.LibC, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, SafeFd dirfd, byte* path, OpenHow* how, nuint size);

    /// <summary>Opens <paramref name="path"/> resolved under <paramref name="dir"/>; errno on failure.</summary>
    public static int TryOpen(SafeFd dir, string path, int flags, Resolve resolve, out SafeFd fd, uint mode = 0) =>
        TryOpen(dir, Utf8Path.Of(path.Length == 0 ? "." : path), flags, resolve, out fd, mode);

    /// <summary>Opens <paramref name="path"/> (bytes) resolved under <paramref name="dir"/>; throws with <paramref name="subject"/>.</summary>
    public static SafeFd Open(SafeFd dir, ReadOnlySpan<byte> path, int flags, Resolve resolve, string subject)
    {
        int errno = TryOpen(dir, Utf8Path.Of(path.IsEmpty ? "."u8 : path), flags, resolve, out var fd, 0);
        return errno == 0 ? fd : throw new ErrnoException(errno, "openat2", subject);
    }

    private static int TryOpen(SafeFd dir, byte[] bytes, int flags, Resolve resolve, out SafeFd fd, uint mode)
    {
        var how = new OpenHow { Flags = (ulong)(uint)flags, Mode = mode, Resolve = (ulong)resolve };
        // EAGAIN: a concurrent rename raced the RESOLVE_IN_ROOT walk; the kernel asks to retry.
        for (int attempt = 0; ; attempt++)
        {
            long r;
            fixed (byte* p = bytes) r = Syscall(SysOpenat2X64, dir, p, &how, (nuint)sizeof(OpenHow));
            if (r >= 0)
            {
                fd = new SafeFd((int)r);
                return 0;
            }
            int errno = Marshal.GetLastPInvokeError();
            if ((errno == ErrnoValues.EAGAIN || errno == ErrnoValues.EINTR) && attempt < 100) continue;
            fd = new SafeFd();
            return errno;
        }
    }

    public static SafeFd Open(SafeFd dir, string path, int flags, Resolve resolve, uint mode = 0)
    {
        int errno = TryOpen(dir, path, flags, resolve, out var fd, mode);
        return errno == 0 ? fd : throw new ErrnoException(errno, "openat2", path);
    }
}
