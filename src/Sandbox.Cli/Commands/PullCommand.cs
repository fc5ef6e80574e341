using System.Runtime.InteropServices;
using Sandbox.Images;
using Sandbox.Images.Registry;

namespace Sandbox.Cli;

/// <summary><c>sandbox pull [OPTIONS] REF</c>: fetch an image from a registry into the store.</summary>
public static class PullCommand
{
    private static readonly OptionSpec[] Specs = [.. RegistryCommandOptions.Specs, new(false, "--quiet", "-q"), new(false, "--all-platforms"), new(false, "--help")];

    public const string Usage = "Usage: sandbox pull [--tls-verify=false] [--cert-dir DIR] [--authfile FILE] [--all-platforms] [-q] REF\n\n"
        + "      --all-platforms      Of an image index, keep every platform's image too (blobs only), so that a push sends the index whole\n"
        + RegistryCommandOptions.Usage;

    public static async Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, Specs, stopAtPositional: false);
        if (parsed.Has("--help")) { Console.Out.WriteLine(Usage); return 0; }
        if (parsed.Positionals.Count != 1) throw new UsageException("usage: sandbox pull [OPTIONS] REF (see 'sandbox pull --help')");
        var reference = RegistryReference.Parse(parsed.Positionals[0]);
        var options = RegistryCommandOptions.Build(parsed, reference.Registry);
        using var cancel = CancelOnSignals(ct, out var registrations);
        try
        {
            var image = await PullAsync(global, reference, options, parsed.Has("--quiet"), cancel.Token).ConfigureAwait(false);
            Console.Out.WriteLine($"{reference} {image.Digest}");
            return 0;
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
    }

    /// <summary>Pulls with a progress view on stderr (also used by <c>run --pull</c>).</summary>
    public static async Task<ImageSummary> PullAsync(GlobalOptions global, RegistryReference reference, RegistryOptions options, bool quiet,
        CancellationToken ct)
    {
        var store = new ImageStore(global.Paths, global.LoggerFactory);
        if (quiet) return await store.PullAsync(reference.ToString(), options, null, ct).ConfigureAwait(false);
        using var view = new TransferProgressView("pulled");
        return await store.PullAsync(reference.ToString(), options, view, ct).ConfigureAwait(false);
    }

    /// <summary>Ctrl-C and SIGTERM cancel the transfer, so that its work directory is removed on the way out.</summary>
    public static CancellationTokenSource CancelOnSignals(CancellationToken ct, out List<PosixSignalRegistration> registrations)
    {
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cancel.Cancel(); }),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); }),
        ];
        return cancel;
    }
}
