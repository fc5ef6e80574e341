using System.Globalization;
using System.Text;
using Sandbox.Core;
using Sandbox.Protocol;
using Sandbox.Lifecycle;

namespace Sandbox.Cli;

/// <summary>
/// <c>sandbox stats [--no-stream] [--format json] [SANDBOX...]</c>: the workload's memory and CPU and what the host
/// keeps alive for it (init / qemu PSS), asked of each sandbox's owner. CPU % is over the sampling interval.
/// </summary>
public static class StatsCommand
{
    public const string Usage = """
        Usage: sandbox stats [--no-stream] [--format json] [SANDBOX...]

          --no-stream         Print one sample and exit (default: refresh every second)
          --format json       One JSON object per sandbox and sample
        """;

    public static async Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, [new(false, "--no-stream"), new(true, "--format"), new(false, "--all", "-a"), new(false, "--help")], stopAtPositional: false);
        if (parsed.Has("--help")) { Console.Out.WriteLine(Usage); return 0; }
        var format = parsed.Value("--format");
        if (format is not (null or "json" or "table")) throw new UsageException($"unsupported --format '{format}' (use json)");
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var records = parsed.Positionals.Count > 0
            ? parsed.Positionals.Select(context.Resolve).ToList()
            : context.Store.List().Where(r => r.Status is SandboxStatus.Running or SandboxStatus.Paused).OrderBy(r => r.Created).ToList();
        var previous = new Dictionary<string, (TimeSpan Cpu, long At)>();
        bool first = true;
        while (true)
        {
            var samples = await Task.WhenAll(records.Select(async r =>
            {
                try
                {
                    var stats = await context.Lifecycle.StatsAsync(r, ct).ConfigureAwait(false);
                    return (r, (SandboxStats?)stats, At: Environment.TickCount64);
                }
                catch (SandboxException) { return (r, (SandboxStats?)null, At: Environment.TickCount64); }
            })).ConfigureAwait(false);
            if (first && parsed.Has("--no-stream") || first)
            {
                // CPU % needs two samples: take the second half a second later.
                foreach (var (r, s, at) in samples) if (s is not null) previous[r.Id] = (s.CpuTime, at);
                first = false;
                await Task.Delay(500, ct).ConfigureAwait(false);
                continue;
            }
            var output = new StringBuilder();
            if (format != "json")
                output.Append(CultureInfo.InvariantCulture, $"{"SANDBOX ID",-14}{"NAME",-20}{"CPU %",-9}{"MEM USAGE / LIMIT",-24}{"HOST PSS",-10}\n");
            foreach (var (r, s, at) in samples)
            {
                if (s is null) continue;
                double cpu = previous.TryGetValue(r.Id, out var p) && at > p.At ? (s.CpuTime - p.Cpu).TotalMilliseconds / (at - p.At) * 100 : 0;
                previous[r.Id] = (s.CpuTime, at);
                long? limit = r.Spec.Limits.MemoryBytes ?? s.GuestMemoryBytes;
                if (format == "json")
                {
                    output.Append(CultureInfo.InvariantCulture,
                        $"{{\"id\":\"{r.Id}\",\"name\":\"{r.Name ?? ""}\",\"cpuPercent\":{cpu:0.00},\"memoryBytes\":{s.MemoryBytes},\"memoryLimitBytes\":{(limit is long l ? l.ToString(CultureInfo.InvariantCulture) : "null")},\"hostOverheadPssBytes\":{s.HostOverheadPssBytes},\"cpuTimeNs\":{s.CpuTime.Ticks * 100}}}\n");
                }
                else
                {
                    var mem = $"{Size(s.MemoryBytes)} / {(limit is long l ? Size(l) : "-")}";
                    output.Append(CultureInfo.InvariantCulture, $"{r.Id,-14}{r.Name ?? "",-20}{cpu,-9:0.00}{mem,-24}{Size(s.HostOverheadPssBytes),-10}\n");
                }
            }
            Console.Out.Write(output.ToString());
            if (parsed.Has("--no-stream")) return 0;
            await Task.Delay(1000, ct).ConfigureAwait(false);
        }
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.00", CultureInfo.InvariantCulture) + "GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + "MiB",
        _ => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + "KiB",
    };
}
