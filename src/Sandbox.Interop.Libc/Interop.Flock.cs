using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary><c>flock(2)</c>: advisory whole-file locks that the kernel drops when the holder dies.</summary>
public static partial class Flock
{
    public const int Shared = 1;
    public const int Exclusive = 2;
    public const int NonBlocking = 4;
    public const int Unlock = 8;

    [LibraryImport(Libraries.LibC, EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockNative(SafeFd fd, int operation);

    /// <summary>0 when taken, else the errno (<c>EWOULDBLOCK</c> when held by someone else with LOCK_NB).</summary>
    public static int TryLock(SafeFd fd, int operation)
    {
        int r;
        do r = FlockNative(fd, operation);
        while (r < 0 && Marshal.GetLastPInvokeError() == ErrnoValues.EINTR);
        return r < 0 ? Marshal.GetLastPInvokeError() : 0;
    }
}
