using Microsoft.Extensions.Logging;
using Sandbox.Interop.Libvirt;

namespace Sandbox.MicroVm;

/// <summary>
/// Removes <c>sandbox-*</c> domains whose owning process is gone. AUTODESTROY already ties a domain to the connection
/// that made it; this catches the rest (a libvirtd restart keeps running domains but forgets the tie).
/// </summary>
public static class StaleDomainReaper
{
    public static int Reap(LibvirtConnection connection, ILogger log)
    {
        int removed = 0;
        foreach (var domain in connection.ListAllDomains())
        {
            using (domain)
            {
                if (!domain.Name.StartsWith("sandbox-", StringComparison.Ordinal)) continue;
                DomainOwner? owner;
                try { owner = DomainOwner.Parse(domain.GetMetadata(DomainOwner.Namespace)); }
                catch (LibvirtException) { continue; /* vanished meanwhile */ }
                if (owner is null || owner.IsAlive()) continue;
                if (domain.Destroy())
                {
                    removed++;
                    MicroVmLog.StaleDomainRemoved(log, domain.Name, owner.Pid);
                }
            }
        }
        return removed;
    }
}
