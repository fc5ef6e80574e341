namespace Sandbox.Core;

/// <summary>The isolation boundary a sandbox runs behind.</summary>
public enum Isolation
{
    /// <summary>Linux namespaces and cgroups; shares the host kernel.</summary>
    Container,

    /// <summary>A libvirt-managed micro-VM with its own guest kernel.</summary>
    Vm,
}
