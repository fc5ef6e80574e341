using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libvirt;

namespace Sandbox.MicroVm;

/// <summary>
/// Removes <c>sandbox-*</c> domains whose owning process is gone, and VM run directories no domain uses any more.
/// AUTODESTROY already ties a domain to the connection that made it; this catches the rest (a libvirtd restart keeps
/// running domains but forgets the tie; a SIGKILLed run leaves its directory). Runs when a runtime first connects and
/// on <c>sandbox prune</c>.
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
            }
        }
        var parent = VmRunDirectory.Parent(paths);
        if (!Directory.Exists(parent)) return removed;
        foreach (var dir in Directory.EnumerateDirectories(parent))
        {
            if (live.Contains(Path.GetFileName(dir))) continue;
            if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) < Grace) continue;
            try
            {
                Directory.Delete(dir, recursive: true);
                // libvirt's qemu log of that run's domain, which its dead owner could not remove.
                if (connection.Uri.StartsWith("qemu:///", StringComparison.Ordinal))
                    File.Delete($"/var/log/libvirt/qemu/sandbox-{Path.GetFileName(dir)}.log");
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { MicroVmLog.CleanupFailed(log, dir, e.Message); }
        }
        return removed;
    }
}
