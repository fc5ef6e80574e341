namespace Sandbox.Core;

/// <summary>Resource limits applied through cgroups (container) or the domain definition (VM).</summary>
/// <param name="MemoryBytes">Hard memory limit; null for none (a VM then gets the backend's default guest size).</param>
/// <param name="Cpus">CPU quota in CPUs (1.5 = one and a half CPUs); for a VM, rounded up to whole vCPUs.</param>
/// <param name="Pids">Maximum number of tasks; null for none.</param>
public sealed record ResourceLimits(long? MemoryBytes = null, double? Cpus = null, long? Pids = null)
{
    public static ResourceLimits None { get; } = new();
}
