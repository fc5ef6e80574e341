using System.Security;

namespace Sandbox.MicroVm;

/// <summary>
/// The guest's NIC: a virtio-net device (virtio-mmio on the microvm machine). On a bridge network its host side is a
/// tap libvirt creates, names <see cref="Tap"/> and enslaves to <see cref="Bridge"/>, and deletes when the domain
/// ends, however it ends (see docs/network.md, "VMs"); the MAC is the one the CNI chain registered for the address.
/// Without a bridge it is <c>type='ethernet'</c> on our own existing tap (<c>managed='no'</c>: libvirt opens it by
/// name and leaves it alone), which <see cref="PodNetwork"/> wires to a caller's namespace.
/// </summary>
internal sealed record GuestNic(string? Bridge, string Mac, string Tap)
{
    /// <summary>Our taps: <c>sbxt-</c> + the sandbox id's first 10 hex digits (15 characters, the kernel's limit).</summary>
    public static string TapName(string sandboxId) => "sbxt-" + sandboxId[..Math.Min(10, sandboxId.Length)];

    public string ToXml()
    {
        static string E(string s) => SecurityElement.Escape(s);
        if (Bridge is null)
            return $"""
                <interface type='ethernet'>
                      <mac address='{E(Mac)}'/>
                      <target dev='{E(Tap)}' managed='no'/>
                      <model type='virtio'/>
                      <address type='virtio-mmio'/>
                    </interface>
                """;
        return $"""
            <interface type='bridge'>
                  <source bridge='{E(Bridge)}'/>
                  <mac address='{E(Mac)}'/>
                  <target dev='{E(Tap)}'/>
                  <model type='virtio'/>
                  <address type='virtio-mmio'/>
                </interface>
            """;
    }
}
