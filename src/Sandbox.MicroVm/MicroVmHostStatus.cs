using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libvirt;

namespace Sandbox.MicroVm;

/// <summary>What <c>sandbox info</c> says about micro-VMs on this host: libvirt reachable? KVM really boots a guest?</summary>
public sealed record MicroVmHostStatus(string LibvirtUri, string? LibvirtError, long LibvirtVersion, long QemuVersion,
    KvmProbe.Result? Kvm, string? KvmError)
{
    public static async Task<MicroVmHostStatus> QueryAsync(SandboxPaths paths, string libvirtUri, Func<GuestArtifacts> guest,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        LibvirtConnection connection;
        try { connection = await Task.Run(() => LibvirtConnection.Open(libvirtUri), cancellationToken).ConfigureAwait(false); }
        catch (LibvirtException e) { return new MicroVmHostStatus(libvirtUri, e.Message, 0, 0, null, null); }
        using (connection)
        {
            long lib = connection.GetLibraryVersion(), qemu = connection.GetHypervisorVersion();
            try
            {
                var result = await KvmProbe.ProbeAsync(connection, paths, guest(), loggerFactory.CreateLogger<MicroVmRuntime>(), cancellationToken)
                    .ConfigureAwait(false);
                return new MicroVmHostStatus(libvirtUri, null, lib, qemu, result, null);
            }
            catch (SandboxException e) { return new MicroVmHostStatus(libvirtUri, null, lib, qemu, null, e.Message); }
        }
    }

    public static string FormatVersion(long v) => $"{v / 1_000_000}.{v / 1000 % 1000}.{v % 1000}";
}
