namespace Sandbox.Core;

/// <summary>A sandbox's footprint at one moment.</summary>
/// <param name="MemoryBytes">Memory charged to the workload: its cgroup's usage (container) or the guest's used memory (VM).</param>
/// <param name="HostOverheadPssBytes">PSS of the host processes kept alive for this sandbox (init, qemu), from smaps_rollup.</param>
/// <param name="CpuTime">CPU time consumed so far.</param>
/// <param name="GuestMemoryBytes">A VM's configured guest memory; null for a container.</param>
public sealed record SandboxStats(long MemoryBytes, long HostOverheadPssBytes, TimeSpan CpuTime, long? GuestMemoryBytes = null);
