using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Sandbox.Core;
using Sandbox.Images;

namespace Sandbox.Cli;

/// <summary><c>sandbox images</c> and <c>sandbox image import|inspect|rm|ls</c>.</summary>
public static class ImageCommands
{
    private static readonly OptionSpec[] ImportOptions = [new(true, "--name", "-n")];
    private static readonly OptionSpec[] ListOptions = [new(true, "--format"), new(false, "--quiet", "-q")];

    public static Task<int> ListAsync(GlobalOptions global, string[] args, CancellationToken ct) =>
        ListCoreAsync(global, ParsedArgs.Parse(args, ListOptions, stopAtPositional: false), "images", ct);

    public static Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        if (args.Length == 0) throw new UsageException("usage: sandbox image import|inspect|rm|ls|tag|save ...");
        var rest = args[1..];
        return args[0] switch
        {
            "import" or "load" => ImportAsync(global, rest, ct),
            "ls" or "list" => ListCoreAsync(global, ParsedArgs.Parse(rest, ListOptions, stopAtPositional: false), "image ls", ct),
            "inspect" => InspectAsync(global, rest, ct),
            "rm" or "remove" => RemoveAsync(global, rest, ct),
            "tag" => ImageTagSaveCommands.TagAsync(global, rest, ct),
            "save" => ImageTagSaveCommands.SaveAsync(global, rest, ct),
            _ => throw new UsageException($"unknown image command '{args[0]}' (import, inspect, rm, ls, tag, save)"),
        };
    }

    private static ImageStore Store(GlobalOptions global) => new(global.Paths, global.LoggerFactory);

    private static async Task<int> ImportAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, ImportOptions, stopAtPositional: false);
        if (parsed.Positionals.Count != 1) throw new UsageException("usage: sandbox image import PATH[:REF] [--name NAME[:TAG]]");
        var progress = new ImportProgressLine();
        // Ctrl-C / SIGTERM cancel the import so it removes its work directory on the way out (a SIGKILL leaves it for
        // the next command to collect).
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cancel.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); });
        var image = await Store(global).ImportAsync(parsed.Positionals[0], parsed.Value("--name"), progress, cancel.Token).ConfigureAwait(false);
        Console.Out.WriteLine($"{image.Name}:{image.Tag} {image.Digest}");
        return 0;
    }

    private static async Task<int> ListCoreAsync(GlobalOptions global, ParsedArgs parsed, string command, CancellationToken ct)
    {
        if (parsed.Positionals.Count > 0) throw new UsageException($"'sandbox {command}' takes no arguments, got '{parsed.Positionals[0]}'");
        var format = parsed.Value("--format");
        if (format is not null and not "json" and not "table")
            throw new UsageException($"unknown --format '{format}' (json or table)");
        var images = await Store(global).ListAsync(ct).ConfigureAwait(false);
        if (format == "json")
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(images.ToList(), ImagesJsonContext.Default.ListImageSummary).Replace("\\u002B", "+", StringComparison.Ordinal));
            return 0;
        }
        if (parsed.Has("--quiet"))
        {
            foreach (var d in images.Select(i => i.Digest).Distinct()) Console.Out.WriteLine(Digests.Short(d));
            return 0;
        }
        var rows = new List<string[]> { new[] { "NAME", "TAG", "DIGEST", "SIZE", "CREATED" } };
        rows.AddRange(images.Select(i => new[] { i.Name, i.Tag, Digests.Short(i.Digest), HumanSize(i.Size), Ago(i.Created) }));
        var widths = Enumerable.Range(0, 5).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var r in rows)
            sb.AppendLine(string.Join("   ", r.Select((cell, c) => c == 4 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        Console.Out.Write(sb.ToString());
        return 0;
    }

    private static async Task<int> InspectAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, [], stopAtPositional: false);
        if (parsed.Positionals.Count != 1) throw new UsageException("usage: sandbox image inspect NAME");
        var details = await Store(global).InspectAsync(parsed.Positionals[0], ct).ConfigureAwait(false);
        var json = JsonSerializer.Serialize(details, ImagesJsonContext.Default.ImageDetails);
        // Indented for people; the source-generated context is compact, so re-indent through a JsonDocument.
        using var doc = JsonDocument.Parse(json);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) doc.WriteTo(w);
        Console.Out.WriteLine(Encoding.UTF8.GetString(ms.ToArray()));
        return 0;
    }

    private static async Task<int> RemoveAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, [], stopAtPositional: false);
        if (parsed.Positionals.Count == 0) throw new UsageException("usage: sandbox image rm NAME...");
        var store = Store(global);
        foreach (var name in parsed.Positionals)
            foreach (var tag in await store.RemoveAsync(name, ct).ConfigureAwait(false))
                Console.Out.WriteLine($"Untagged: {tag}");
        return 0;
    }

    public static string HumanSize(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB"];
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < units.Length - 1) { v /= 1000; u++; }
        return u == 0 ? $"{bytes}B" : v.ToString(v < 10 ? "0.##" : "0.#", CultureInfo.InvariantCulture) + units[u];
    }

    private static string Ago(DateTimeOffset t)
    {
        var d = DateTimeOffset.UtcNow - t;
        if (t <= DateTimeOffset.UnixEpoch.AddDays(1)) return "-";
        if (d.TotalSeconds < 60) return "less than a minute ago";
        if (d.TotalMinutes < 60) return $"{(int)d.TotalMinutes} minutes ago";
        if (d.TotalHours < 48) return $"{(int)d.TotalHours} hours ago";
        if (d.TotalDays < 60) return $"{(int)d.TotalDays} days ago";
        if (d.TotalDays < 730) return $"{(int)(d.TotalDays / 30)} months ago";
        return $"{(int)(d.TotalDays / 365)} years ago";
    }

    /// <summary>
    /// One stderr line per unpacked layer, with its size and speed: shown when stderr is a terminal, or once the
    /// import has taken more than half a second (so quick imports in scripts stay quiet).
    /// </summary>
    private sealed class ImportProgressLine : IProgress<ImportProgress>
    {
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        private readonly bool _tty = !Console.IsErrorRedirected;

        public void Report(ImportProgress p)
        {
            if (!_tty && _watch.Elapsed < TimeSpan.FromSeconds(0.5)) return;
            double seconds = Math.Max(p.Elapsed.TotalSeconds, 0.001);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"layer {p.Layer}/{p.LayerCount} {Digests.Short(p.Digest)}: {HumanSize(p.Bytes)} in {p.Elapsed.TotalSeconds:0.0}s ({HumanSize((long)(p.Bytes / seconds))}/s)"));
        }
    }
}
