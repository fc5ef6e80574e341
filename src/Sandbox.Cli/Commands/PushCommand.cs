using Sandbox.Images;
using Sandbox.Images.Registry;

namespace Sandbox.Cli;

/// <summary><c>sandbox push [OPTIONS] SRC [DST]</c>: send a stored image to a registry.</summary>
public static class PushCommand
{
    private static readonly OptionSpec[] Specs = [.. RegistryCommandOptions.Specs, new(false, "--quiet", "-q"), new(false, "--help")];

    public const string Usage = """
        Usage: sandbox push [OPTIONS] SRC [DST]

        Pushes the stored image SRC to DST (default SRC itself, which then names a registry: HOST[:PORT]/REPO[:TAG]).

        """ + RegistryCommandOptions.Usage;

    public static async Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, Specs, stopAtPositional: false);
        if (parsed.Has("--help")) { Console.Out.WriteLine(Usage); return 0; }
        if (parsed.Positionals.Count is < 1 or > 2) throw new UsageException("usage: sandbox push [OPTIONS] SRC [DST] (see 'sandbox push --help')");
        var source = parsed.Positionals[0];
        var destination = parsed.Positionals.Count == 2 ? parsed.Positionals[1] : null;
        var target = RegistryReference.Parse(destination ?? source);
        var options = RegistryCommandOptions.Build(parsed, target.Registry);
        var store = new ImageStore(global.Paths, global.LoggerFactory);
        using var cancel = PullCommand.CancelOnSignals(ct, out var registrations);
        try
        {
            PushResult result;
            if (parsed.Has("--quiet")) result = await store.PushAsync(source, destination, options, null, cancel.Token).ConfigureAwait(false);
            else
            {
                using var view = new TransferProgressView("pushed");
                result = await store.PushAsync(source, destination, options, view, cancel.Token).ConfigureAwait(false);
            }
            if (result.LeftOut.Count > 0)
                Console.Error.WriteLine($"sandbox: the index pushed leaves out {string.Join(", ", result.LeftOut)}: not in the store nor in the registry (pull with --all-platforms to keep every platform)");
            Console.Out.WriteLine($"{result.Reference} {result.Digest}");
            return 0;
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
    }
}
