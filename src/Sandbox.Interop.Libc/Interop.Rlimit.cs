using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>Resource limits: prlimit(2).</summary>
public static partial class ResourceLimit
{
    public const ulong Infinity = ulong.MaxValue;

    /// <summary>Sets one limit of a process (0: the caller).</summary>
    public static unsafe void Set(int pid, int resource, ulong soft, ulong hard)
    {
        var limit = stackalloc ulong[2] { soft, hard };
        if (prlimit(pid, resource, limit, null) != 0)
            throw ErrnoException.FromLastError("prlimit", $"resource {resource} = {soft}:{hard}" + (pid == 0 ? "" : $" of pid {pid}"));
    }

    public static unsafe (ulong Soft, ulong Hard) Get(int pid, int resource)
    {
        var limit = stackalloc ulong[2];
        if (prlimit(pid, resource, null, limit) != 0) throw ErrnoException.FromLastError("prlimit", $"resource {resource}");
        return (limit[0], limit[1]);
    }

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int prlimit(int pid, int resource, ulong* newLimit, ulong* oldLimit);
}
