using Sandbox.Images;

namespace Sandbox.Cli;

/// <summary><c>sandbox image tag SRC DST</c> and <c>sandbox image save REF -o FILE [--format oci-archive|docker-archive]</c>.</summary>
public static class ImageTagSaveCommands
{
    private static readonly OptionSpec[] SaveOptions = [new(true, "--output", "-o"), new(true, "--format")];

    public static async Task<int> TagAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, [], stopAtPositional: false);
        if (parsed.Positionals.Count != 2) throw new UsageException("usage: sandbox image tag SRC DST");
        var image = await new ImageStore(global.Paths, global.LoggerFactory).AddTagAsync(parsed.Positionals[0], parsed.Positionals[1], ct).ConfigureAwait(false);
        Console.Out.WriteLine($"{image.Name}:{image.Tag} {image.Digest}");
        return 0;
    }

    public static async Task<int> SaveAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, SaveOptions, stopAtPositional: false);
        if (parsed.Positionals.Count != 1 || parsed.Value("--output") is not { Length: > 0 } output)
            throw new UsageException("usage: sandbox image save REF -o FILE [--format oci-archive|docker-archive]");
        var format = parsed.Value("--format") switch
        {
            null or "oci-archive" => ArchiveFormat.OciArchive,
            "docker-archive" => ArchiveFormat.DockerArchive,
            var other => throw new UsageException($"unknown --format '{other}' (oci-archive or docker-archive)"),
        };
        using var cancel = PullCommand.CancelOnSignals(ct, out var registrations);
        try
        {
            await new ImageStore(global.Paths, global.LoggerFactory).SaveAsync(parsed.Positionals[0], output, format, cancel.Token).ConfigureAwait(false);
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
        return 0;
    }
}
