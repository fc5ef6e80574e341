namespace Sandbox.Benchmarking;

/// <summary>N idle sandboxes started concurrently within a memory budget: how many fit and how fast they started.</summary>
public sealed record DensitySample(string Subject, int Requested, int Started, long BudgetBytes, long HostBytesUsed, double Seconds, string? StopReason)
{
    /// <summary>Seconds from the last start until every sandbox was stopped and removed (the load test).</summary>
    public double? RemoveSeconds { get; init; }

    public double StartsPerSecond => Seconds > 0 ? Started / Seconds : 0;
    public long BytesPerSandbox => Started > 0 ? HostBytesUsed / Started : 0;
}
