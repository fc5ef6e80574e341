namespace Sandbox.Core;

/// <summary>A sandbox's footprint at one moment.</summary>
/// <param name="MemoryBytes">
/// The workload's memory, the same meaning in both backends: its cgroup's usage in a container; in a VM the guest's
/// used memory (MemTotal − MemAvailable as the guest kernel reports it, via sandbox-init), not qemu's RSS.
/// </param>
/// <param name="HostOverheadPssBytes">PSS of the host processes kept alive for this sandbox (init, qemu), from smaps_rollup.</param>
/// <param name="CpuTime">CPU time consumed so far.</param>
/// <param name="GuestMemoryBytes">A VM's configured guest memory; null for a container.</param>
public sealed record SandboxStats(long MemoryBytes, long HostOverheadPssBytes, TimeSpan CpuTime, long? GuestMemoryBytes = null);
