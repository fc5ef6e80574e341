using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libvirt;

namespace Sandbox.MicroVm;

/// <summary>
/// Removes <c>sandbox-*</c> domains whose owning process is gone (from the owner's pid, start time and boot id in the
/// domain's metadata). AUTODESTROY already ties a domain to its owner's connection; this catches the rest (a libvirtd
/// restart keeps running domains but forgets the tie). Runs when a runtime first connects and in the lifecycle's
/// reaper (every lifecycle command, <c>sandbox prune</c>); the sandbox's directory is the lifecycle reaper's part.
/// </summary>
public static class StaleDomainReaper
{
    /// <summary>A run directory younger than this may belong to a domain still being created.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(2);

    /// <summary><c>sandbox prune</c>: reaps through its own connection; 0 (not an error) when libvirt is not reachable.</summary>
    public static int Prune(string libvirtUri, SandboxPaths paths, ILogger log)
    {
        LibvirtConnection connection;
        try { connection = LibvirtConnection.Open(libvirtUri); }
        catch (LibvirtException) { return 0; }
        using (connection) return Reap(connection, paths, log);
    }

    internal static int Reap(LibvirtConnection connection, SandboxPaths paths, ILogger log)
    {
        int removed = 0;
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var domain in connection.ListAllDomains())
        {
            using (domain)
            {
                if (!domain.Name.StartsWith("sandbox-", StringComparison.Ordinal)) continue;
                DomainOwner? owner;
                try { owner = DomainOwner.Parse(domain.GetMetadata(DomainOwner.Namespace)); }
                catch (LibvirtException) { continue; /* vanished meanwhile */ }
                if (owner is null || owner.IsAlive())
                {
                    live.Add(domain.Name["sandbox-".Length..]);
                    continue;
                }
                if (domain.Destroy())
                {
                    removed++;
                    MicroVmLog.StaleDomainRemoved(log, domain.Name, owner.Pid);
                }
                // libvirt's qemu log of that run's domain, which its dead owner could not remove.
                if (connection.Uri.StartsWith("qemu:///", StringComparison.Ordinal))
                {
                    try { File.Delete($"/var/log/libvirt/qemu/{domain.Name}.log"); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { MicroVmLog.CleanupFailed(log, domain.Name, e.Message); }
                }
            }
        }
        // Taps made for a caller's network namespace whose owner died before moving them there (PodNetwork).
        PodNetwork.ReapStaleTaps(log);
        return removed;
    }
}
