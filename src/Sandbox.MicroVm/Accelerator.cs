namespace Sandbox.MicroVm;

/// <summary>How qemu runs the guest's code.</summary>
public enum Accelerator
{
    /// <summary>QEMU's binary translator (libvirt domain type <c>qemu</c>): slower, works everywhere.</summary>
    Tcg,

    /// <summary>Hardware virtualization (libvirt domain type <c>kvm</c>), used only when a real guest boots under it.</summary>
    Kvm,
}
