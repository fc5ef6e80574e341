using System.Globalization;
using Sandbox.Network;

namespace Sandbox.Cli;

/// <summary><c>sandbox network create|ls|rm</c>: named bridge networks (see docs/network.md).</summary>
public static class NetworkCommands
{
    private static readonly OptionSpec[] CreateOptions = [new(true, "--subnet"), new(false, "--internal")];
    private static readonly OptionSpec[] ListOptions = [new(false, "--quiet", "-q")];

    public static Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length == 0) throw new UsageException("usage: sandbox network create|ls|rm ...");
        var rest = args[1..];
        return args[0] switch
        {
            "create" => Task.FromResult(Create(global, rest)),
            "ls" or "list" => Task.FromResult(List(global, rest)),
            "rm" or "remove" => RemoveAsync(global, rest, ct),
            _ => throw new UsageException($"unknown network command '{args[0]}' (create, ls, rm)"),
        };
    }

    private static NetworkAttacher Attacher(GlobalOptions global) => new(global.Paths, global.LoggerFactory);

    private static int Create(GlobalOptions global, string[] args)
    {
        var parsed = ParsedArgs.Parse(args, CreateOptions, stopAtPositional: false);
        if (parsed.Positionals.Count != 1) throw new UsageException("usage: sandbox network create NAME [--subnet CIDR] [--internal]");
        var config = Attacher(global).Store.Create(parsed.Positionals[0], parsed.Value("--subnet"), parsed.Has("--internal"));
        Console.Out.WriteLine(config.Name);
        return 0;
    }

    private static int List(GlobalOptions global, string[] args)
    {
        var parsed = ParsedArgs.Parse(args, ListOptions, stopAtPositional: false);
        if (parsed.Positionals.Count > 0) throw new UsageException($"'sandbox network ls' takes no arguments, got '{parsed.Positionals[0]}'");
        var store = Attacher(global).Store;
        var networks = store.List();
        if (parsed.Has("--quiet"))
        {
            foreach (var n in networks) Console.Out.WriteLine(n.Name);
            return 0;
        }
        Console.Out.WriteLine($"{"NAME",-20} {"SUBNET",-18} {"GATEWAY",-15} {"BRIDGE",-8} {"INTERNAL",-8} CREATED");
        foreach (var n in networks)
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{n.Name,-20} {n.Subnet,-18} {(n.Internal ? "-" : n.Gateway),-15} {n.Bridge,-8} {(n.Internal ? "yes" : "no"),-8} {n.Created:yyyy-MM-dd HH:mm:ss}"));
        return 0;
    }

    private static async Task<int> RemoveAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length == 0) throw new UsageException("usage: sandbox network rm NAME...");
        var attacher = Attacher(global);
        foreach (var name in args)
        {
            bool inUse = await attacher.HasMembersAsync(name, ct).ConfigureAwait(false);
            attacher.Store.Remove(name, _ => inUse);
            Console.Out.WriteLine(name);
        }
        return 0;
    }
}
