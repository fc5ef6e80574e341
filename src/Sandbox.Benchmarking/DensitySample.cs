namespace Sandbox.Benchmarking;

/// <summary>N idle sandboxes started concurrently within a memory budget: how many fit and how fast they started.</summary>
public sealed record DensitySample(string Subject, int Requested, int Started, long BudgetBytes, long HostBytesUsed, double Seconds, string? StopReason)
{
    /// <summary>Seconds from the last start until every sandbox was stopped and removed (the load test).</summary>
    public double? RemoveSeconds { get; init; }

    /// <summary>
    /// The PSS of every process kept alive for the N sandboxes (CLIs or runtimes, qemu), summed once over all of them:
    /// what they cost the host, shared pages divided among them, unlike <see cref="HostBytesUsed"/> (MemAvailable
    /// before and after) not disturbed by anything else on the host. Containers' workloads are in it (their processes).
    /// </summary>
    public long PssBytes { get; init; }

    public long PssPerSandbox => Started > 0 ? PssBytes / Started : 0;

    public double StartsPerSecond => Seconds > 0 ? Started / Seconds : 0;
    public long BytesPerSandbox => Started > 0 ? HostBytesUsed / Started : 0;
}
