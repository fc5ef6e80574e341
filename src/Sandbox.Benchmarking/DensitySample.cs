namespace Sandbox.Benchmarking;

/// <summary>N idle sandboxes started concurrently within a memory budget: how many fit and how fast they started.</summary>
public sealed record DensitySample(string Subject, int Requested, int Started, long BudgetBytes, long HostBytesUsed, double Seconds, string? StopReason)
{
    public double StartsPerSecond => Seconds > 0 ? Started / Seconds : 0;
    public long BytesPerSandbox => Started > 0 ? HostBytesUsed / Started : 0;
}
