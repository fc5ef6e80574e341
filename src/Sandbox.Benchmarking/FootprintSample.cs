namespace Sandbox.Benchmarking;

/// <summary>
/// What one idle sandbox (workload sleeping) costs the host: the workload's own memory (cgroup or guest) and the PSS of
/// every runtime process kept alive for it (init, runc, qemu...).
/// </summary>
public sealed record FootprintSample(string Subject, long WorkloadBytes, long RuntimePssBytes, long? GuestMemoryBytes, string Detail)
{
    public long TotalBytes => WorkloadBytes + RuntimePssBytes;
}
