namespace Sandbox.Core;

/// <summary>How a sandbox's code is run by the CPU.</summary>
public enum Accelerator
{
    /// <summary>Natively on the host kernel: a container.</summary>
    None,

    /// <summary>QEMU's binary translator (libvirt domain type <c>qemu</c>): slower, works everywhere.</summary>
    Tcg,

    /// <summary>Hardware virtualization (libvirt domain type <c>kvm</c>), used only when a real guest boots under it.</summary>
    Kvm,
}

public static class AcceleratorNames
{
    /// <summary>"kvm" or "tcg" as users and reports spell them; null for <see cref="Accelerator.None"/>.</summary>
    public static string? ToShortName(this Accelerator accelerator) => accelerator switch
    {
        Accelerator.Kvm => "kvm",
        Accelerator.Tcg => "tcg",
        _ => null,
    };
}
