using Microsoft.Extensions.Logging;
using Sandbox.Container;

namespace Sandbox.Cli;

/// <summary><c>sandbox prune</c>: remove what sandboxes killed with SIGKILL left behind, and the kept layers of exited ones.</summary>
public static class PruneCommand
{
    public static async Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length > 0) throw new UsageException($"'sandbox prune' takes no arguments, got '{args[0]}'");
        var reaper = new StaleSandboxReaper(global.Paths, global.LoggerFactory.CreateLogger<StaleSandboxReaper>());
        int removed = await reaper.ReapAsync(includeExited: true, ct).ConfigureAwait(false);
        removed += PruneMicroVms(global);
        // Network attachments of dead sandboxes: CNI DEL, the pinned namespace, the member-table entry.
        removed += await new Network.AttachmentReaper(global.Paths, global.LoggerFactory.CreateLogger("Sandbox.Network"))
            .ReapAsync(ct).ConfigureAwait(false);
        Console.Out.WriteLine(removed == 0 ? "nothing to prune" : $"removed {removed} sandbox{(removed == 1 ? "" : "es")}");
        return 0;
    }

    /// <summary>Stale <c>sandbox-*</c> domains and VM run directories; skipped (not an error) when libvirt is not reachable.</summary>
    private static int PruneMicroVms(GlobalOptions global)
    {
        Interop.Libvirt.LibvirtConnection connection;
        try { connection = Interop.Libvirt.LibvirtConnection.Open(global.LibvirtUri); }
        catch (Interop.Libvirt.LibvirtException) { return 0; }
        using (connection)
            return MicroVm.StaleDomainReaper.Reap(connection, global.Paths, global.LoggerFactory.CreateLogger("Sandbox.MicroVm"));
    }
}
