namespace Sandbox.Cli;

/// <summary><c>sandbox prune</c>: remove what sandboxes killed with SIGKILL left behind.</summary>
public static class PruneCommand
{
    public static Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length > 0) throw new UsageException($"'sandbox prune' takes no arguments, got '{args[0]}'");
        // Backends register their reapers here as they land.
        Console.Out.WriteLine("nothing to prune");
        return Task.FromResult(0);
    }
}
