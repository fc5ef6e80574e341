using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>clock_settime(2): a guest's PID 1 sets the wall clock the host sends at Start.</summary>
public static partial class Clock
{
    private const int CLOCK_REALTIME = 0;

    /// <summary>Sets CLOCK_REALTIME to <paramref name="unixNs"/> nanoseconds after the epoch.</summary>
    public static unsafe void SetRealtime(long unixNs)
    {
        long* ts = stackalloc long[2];
        ts[0] = unixNs / 1_000_000_000;
        ts[1] = unixNs % 1_000_000_000;
        if (clock_settime(CLOCK_REALTIME, ts) != 0) throw ErrnoException.FromLastError("clock_settime", "CLOCK_REALTIME");
    }

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int clock_settime(int clock, long* ts);
}
