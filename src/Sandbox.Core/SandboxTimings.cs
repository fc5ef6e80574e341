using System.Diagnostics;

namespace Sandbox.Core;

/// <summary>
/// Marks in a sandbox's life, as host CLOCK_MONOTONIC nanoseconds (the clock <see cref="Stopwatch"/> reads on Linux).
/// Marks taken inside a VM are aligned to the host clock by the backend. A mark not reached is null.
/// </summary>
public sealed class SandboxTimings
{
    /// <summary>The caller asked for the sandbox.</summary>
    public long Requested { get; set; }
    /// <summary>Namespaces created / domain started.</summary>
    public long? Created { get; set; }
    /// <summary>sandbox-init's first instruction.</summary>
    public long? InitStarted { get; set; }
    /// <summary>The workload's execve.</summary>
    public long? WorkloadStarted { get; set; }
    /// <summary>The workload's exit, as seen by init.</summary>
    public long? WorkloadExited { get; set; }
    /// <summary>Everything the sandbox made is gone (processes, mounts, cgroups / domain).</summary>
    public long? Destroyed { get; set; }

    public static long Now() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>Milliseconds from <see cref="Requested"/> to a mark, or null.</summary>
    public double? SinceRequest(long? mark) => mark is long m ? (m - Requested) / 1e6 : null;

    public IEnumerable<(string Name, double? Milliseconds)> Phases()
    {
        yield return ("created", SinceRequest(Created));
        yield return ("init started", SinceRequest(InitStarted));
        yield return ("workload exec", SinceRequest(WorkloadStarted));
        yield return ("workload exit", SinceRequest(WorkloadExited));
        yield return ("destroyed", SinceRequest(Destroyed));
    }
}
