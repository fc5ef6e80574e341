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
        removed += MicroVm.StaleDomainReaper.Prune(global.LibvirtUri, global.Paths, global.LoggerFactory.CreateLogger("Sandbox.MicroVm"));
        Console.Out.WriteLine(removed == 0 ? "nothing to prune" : $"removed {removed} sandbox{(removed == 1 ? "" : "es")}");
        return 0;
    }
}
