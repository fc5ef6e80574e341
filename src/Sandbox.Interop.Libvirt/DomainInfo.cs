namespace Sandbox.Interop.Libvirt;

/// <summary>virDomainInfo in managed units.</summary>
public readonly record struct DomainInfo(DomainState State, long MaxMemoryBytes, long MemoryBytes, int VirtualCpus, TimeSpan CpuTime);
