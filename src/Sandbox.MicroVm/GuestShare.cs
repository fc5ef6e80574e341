using System.Security;

namespace Sandbox.MicroVm;

/// <summary>
/// A host directory shared with the guest over virtio-9p (libvirt's <c>&lt;filesystem type='mount'&gt;</c>, qemu's
/// local 9p server in passthrough mode: the guest's uids, modes and device nodes are the host file's own). How an OCI
/// bundle's rootfs and its host bind mounts reach a micro-VM (docs/oci-runtime.md, "Micro-VM mode"); the guest mounts
/// it by <see cref="Tag"/>.
/// </summary>
internal sealed record GuestShare(string Tag, string HostPath, bool ReadOnly)
{
    public string ToXml()
    {
        static string E(string s) => SecurityElement.Escape(s);
        // multidevs='remap': the bundle's rootfs (an overlay) and submounts below a shared directory have several
        // st_dev; remapping keeps inode numbers unique in the guest (qemu warns and may alias them otherwise).
        return $"""
            <filesystem type='mount' accessmode='passthrough' multidevs='remap'>
                  <driver type='path'/>
                  <source dir='{E(HostPath)}'/>
                  <target dir='{E(Tag)}'/>
                  {(ReadOnly ? "<readonly/>" : "")}
                  <address type='virtio-mmio'/>
                </filesystem>
            """;
    }
}
