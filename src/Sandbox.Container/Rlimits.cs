using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Container;

/// <summary>The workload's ulimits, as the init protocol carries them.</summary>
internal static class Rlimits
{
    /// <summary>
    /// Raises sandbox-init's hard limits to what its workload will get: in a user namespace init cannot raise them
    /// itself (that takes CAP_SYS_RESOURCE in the host's namespace). Soft limits stay: they are init's own.
    /// </summary>
    public static void RaiseHardLimits(int pid, Protocol.Rlimit[] limits)
    {
        foreach (var l in limits)
        {
            var (soft, hard) = ResourceLimit.Get(pid, l.Resource);
            if (Compare(l.Hard, hard) > 0) ResourceLimit.Set(pid, l.Resource, soft, l.Hard);
        }
    }

    private static int Compare(ulong a, ulong b) => a.CompareTo(b); // RLIM_INFINITY is ulong.MaxValue

}
