namespace Sandbox.Container.Cgroups;

/// <summary>
/// New values for a running group (runc's <c>update</c>, runtime-spec <c>linux.resources</c>). Null: unchanged.
/// Memory and swap in bytes (-1: unlimited; swap is memory + swap, as the spec and cgroup v1's memsw count it),
/// cpu shares as v1's weight (2-262144, converted for v2's cpu.weight), quota/period in microseconds (quota -1:
/// unlimited), pids -1: unlimited.
/// </summary>
public sealed record CgroupUpdate
{
    public long? MemoryLimit { get; init; }
    public long? MemoryReservation { get; init; }
    public long? MemorySwap { get; init; }
    public ulong? CpuShares { get; init; }
    public long? CpuQuota { get; init; }
    public ulong? CpuPeriod { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public long? PidsLimit { get; init; }

    public bool IsEmpty => this == new CgroupUpdate();
}
