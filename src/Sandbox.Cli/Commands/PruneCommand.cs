using Microsoft.Extensions.Logging;
using Sandbox.Core;

namespace Sandbox.Cli;

/// <summary>
/// <c>sandbox prune</c>: remove stopped sandboxes (state, log, writable layer) and whatever sandboxes whose owner died
/// left behind (processes, mounts, cgroups, domains, sockets, directories). Running sandboxes are not touched.
/// </summary>
public static class PruneCommand
{
    public static async Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length > 0) throw new UsageException($"'sandbox prune' takes no arguments, got '{args[0]}'");
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        int removed = await context.Reaper.ReapAsync(prune: true, ct).ConfigureAwait(false);
        // Network attachments of dead sandboxes: CNI DEL, the pinned namespace, the member-table entry.
        removed += await new Network.AttachmentReaper(global.Paths, global.LoggerFactory.CreateLogger("Sandbox.Network"))
            .ReapAsync(ct).ConfigureAwait(false);
        Console.Out.WriteLine(removed == 0 ? "nothing to prune" : $"removed {removed} sandbox{(removed == 1 ? "" : "es")}");
        return 0;
    }
}
