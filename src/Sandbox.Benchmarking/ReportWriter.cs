using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sandbox.Benchmarking;

/// <summary>Writes a report as Markdown (the table), JSON (every sample) and SVG (the chart).</summary>
public static class ReportWriter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Json(BenchReport report) => JsonSerializer.Serialize(report, ReportJsonContext.Default.BenchReport);

    public static string Markdown(BenchReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"# sandbox bench — {report.Date:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine(Inv, $"- command: `{report.CommandLine}`");
        sb.AppendLine(Inv, $"- machine: {report.Machine.CpuModel}, {report.Machine.Cores} cores, {report.Machine.MemoryBytes >> 30} GiB, kernel {report.Machine.Kernel}");
        sb.AppendLine(Inv, $"- image: `{report.Image}`, {report.Runs} runs per subject, interleaved");
        sb.AppendLine();
        sb.AppendLine("## Start to exit of `true` (ms from request; median [p10–p90] min–max)");
        sb.AppendLine();
        sb.AppendLine("| subject | accel | init started | workload exec | workload exit | all gone | failed |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var s in report.Subjects)
            sb.AppendLine(Inv, $"| {s.Name} | {s.Accelerator ?? "-"} | {Cell(s.Init)} | {Cell(s.Exec)} | {Cell(s.Exit)} | {Cell(s.Gone)} | {s.Failures} |");
        sb.AppendLine();
        // The warm pool's target is relative to the cold path of the same run (docs/microvm.md, "Warm pool").
        if (report.Subjects.FirstOrDefault(s => s.Name == "sandbox --vm")?.Exit is Distribution cold
            && report.Subjects.FirstOrDefault(s => s.Name == Subjects.CliSubject.WarmName)?.Exit is Distribution warm && cold.Median > 0)
        {
            sb.AppendLine(Inv, $"Warm pool / cold boot, whole run (median): {warm.Median:0} / {cold.Median:0} ms = {warm.Median / cold.Median:0.00}×");
            sb.AppendLine();
        }
        if (report.Footprints.Count > 0)
        {
            sb.AppendLine("## Footprint of one idle sandbox (workload sleeping)");
            sb.AppendLine();
            sb.AppendLine("| subject | workload (cgroup / guest used) | runtime processes PSS | total | guest memory | what was counted |");
            sb.AppendLine("|---|---|---|---|---|---|");
            foreach (var f in report.Footprints)
                sb.AppendLine(Inv, $"| {f.Subject} | {Mib(f.WorkloadBytes)} | {Mib(f.RuntimePssBytes)} | {Mib(f.TotalBytes)} | {(f.GuestMemoryBytes is long g ? Mib(g) : "-")} | {f.Detail} |");
            sb.AppendLine();
        }
        if (report.Density.Count > 0)
        {
            sb.AppendLine("## Density: N idle sandboxes started at once");
            sb.AppendLine();
            sb.AppendLine("| subject | asked | started | PSS of all kept-alive processes | PSS per sandbox | host memory used (MemAvailable) | per sandbox | start rate | fit in budget | stopped by |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
            foreach (var d in report.Density)
            {
                long fit = d.BytesPerSandbox > 0 ? d.BudgetBytes / d.BytesPerSandbox : 0;
                sb.AppendLine(Inv, $"| {d.Subject} | {d.Requested} | {d.Started} | {Mib(d.PssBytes)} | {Mib(d.PssPerSandbox)} | {Mib(d.HostBytesUsed)} | {Mib(d.BytesPerSandbox)} | {d.StartsPerSecond:0.0}/s | {fit} in {Mib(d.BudgetBytes)} | {d.StopReason ?? "-"} |");
            }
            sb.AppendLine();
        }
        if (report.Load.Count > 0)
        {
            sb.AppendLine("## Load: N sandboxes of one backend at once");
            sb.AppendLine();
            sb.AppendLine("| subject | asked | started | until all started | host memory used | stop and remove all | failures |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var d in report.Load)
                sb.AppendLine(Inv, $"| {d.Subject} | {d.Requested} | {d.Started} | {d.Seconds:0.0} s | {Mib(d.HostBytesUsed)} | {d.RemoveSeconds:0.0} s | {d.StopReason ?? "-"} |");
            sb.AppendLine();
        }
        foreach (var s in report.Subjects.Where(s => s.FirstError is not null))
            sb.AppendLine(Inv, $"- {s.Name}: {s.Failures} failed runs; first error: {s.FirstError}");
        foreach (var n in report.Notes) sb.AppendLine("- " + n);
        sb.AppendLine();
        sb.AppendLine("Subjects:");
        sb.AppendLine();
        foreach (var s in report.Subjects) sb.AppendLine(Inv, $"- **{s.Name}**: {s.Description}");
        return sb.ToString();
    }

    private static string Cell(Distribution? d) =>
        d is null ? "-" : string.Create(Inv, $"{d.Median:0.0} [{d.P10:0.0}–{d.P90:0.0}] {d.Min:0.0}–{d.Max:0.0}");

    private static string Mib(long bytes) => string.Create(Inv, $"{bytes / 1048576.0:0.0} MiB");

    /// <summary>Boot-time distribution per subject (box: p10–p90, tick: median, whiskers: min–max) and footprint bars.</summary>
    public static string Svg(BenchReport report)
    {
        const int width = 900, rowHeight = 34, left = 230, right = 40;
        var rows = report.Subjects.Where(s => s.Exit is not null).ToArray();
        var feet = report.Footprints;
        int bootHeight = 60 + rows.Length * rowHeight;
        int footHeight = feet.Count > 0 ? 60 + feet.Count * rowHeight : 0;
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{bootHeight + footHeight + 20}\" font-family=\"sans-serif\" font-size=\"13\">");
        sb.AppendLine("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        sb.AppendLine("<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Start to exit of `true` (ms, log scale)</text>");
        if (rows.Length > 0)
        {
            double min = Math.Max(1, rows.Min(r => r.Exit!.Min)), max = rows.Max(r => r.Exit!.Max);
            double lo = Math.Log10(min) - 0.1, hi = Math.Log10(max) + 0.1;
            double X(double ms) => left + (Math.Log10(Math.Max(ms, 1)) - lo) / (hi - lo) * (width - left - right);
            for (int decade = (int)Math.Floor(lo); decade <= (int)Math.Ceiling(hi); decade++)
            {
                foreach (var m in new[] { 1, 2, 5 })
                {
                    double v = m * Math.Pow(10, decade);
                    if (Math.Log10(v) < lo || Math.Log10(v) > hi) continue;
                    sb.AppendLine(Inv, $"<line x1=\"{X(v):0.0}\" y1=\"35\" x2=\"{X(v):0.0}\" y2=\"{bootHeight - 20}\" stroke=\"#ddd\"/>");
                    sb.AppendLine(Inv, $"<text x=\"{X(v):0.0}\" y=\"{bootHeight - 5}\" text-anchor=\"middle\" fill=\"#666\">{v:0.#}</text>");
                }
            }
            for (int i = 0; i < rows.Length; i++)
            {
                var d = rows[i].Exit!;
                int y = 45 + i * rowHeight;
                string color = Palette(i);
                sb.AppendLine(Inv, $"<text x=\"{left - 8}\" y=\"{y + 15}\" text-anchor=\"end\">{Escape(rows[i].Name)}</text>");
                sb.AppendLine(Inv, $"<line x1=\"{X(d.Min):0.0}\" y1=\"{y + 11}\" x2=\"{X(d.Max):0.0}\" y2=\"{y + 11}\" stroke=\"{color}\"/>");
                sb.AppendLine(Inv, $"<rect x=\"{X(d.P10):0.0}\" y=\"{y + 2}\" width=\"{Math.Max(2, X(d.P90) - X(d.P10)):0.0}\" height=\"18\" fill=\"{color}\" fill-opacity=\"0.35\" stroke=\"{color}\"/>");
                sb.AppendLine(Inv, $"<line x1=\"{X(d.Median):0.0}\" y1=\"{y}\" x2=\"{X(d.Median):0.0}\" y2=\"{y + 22}\" stroke=\"{color}\" stroke-width=\"3\"/>");
                sb.AppendLine(Inv, $"<text x=\"{X(d.Max) + 6:0.0}\" y=\"{y + 15}\" fill=\"#333\">{d.Median:0} ms</text>");
            }
        }
        if (feet.Count > 0)
        {
            int top = bootHeight + 10;
            sb.AppendLine(Inv, $"<text x=\"10\" y=\"{top + 12}\" font-size=\"15\" font-weight=\"bold\">Idle footprint (MiB): runtime PSS + workload</text>");
            double maxBytes = Math.Max(1, feet.Max(f => f.TotalBytes));
            double scale = (width - left - right - 80) / maxBytes;
            for (int i = 0; i < feet.Count; i++)
            {
                var f = feet[i];
                int y = top + 25 + i * rowHeight;
                double w1 = f.RuntimePssBytes * scale, w2 = f.WorkloadBytes * scale;
                sb.AppendLine(Inv, $"<text x=\"{left - 8}\" y=\"{y + 15}\" text-anchor=\"end\">{Escape(f.Subject)}</text>");
                sb.AppendLine(Inv, $"<rect x=\"{left}\" y=\"{y + 2}\" width=\"{w1:0.0}\" height=\"18\" fill=\"#4e79a7\"/>");
                sb.AppendLine(Inv, $"<rect x=\"{left + w1:0.0}\" y=\"{y + 2}\" width=\"{w2:0.0}\" height=\"18\" fill=\"#f28e2b\"/>");
                sb.AppendLine(Inv, $"<text x=\"{left + w1 + w2 + 6:0.0}\" y=\"{y + 15}\">{f.RuntimePssBytes / 1048576.0:0.0} + {f.WorkloadBytes / 1048576.0:0.0}</text>");
            }
        }
        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private static string Palette(int i) => new[] { "#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2" }[i % 6];

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>Writes bench.md, bench.json and bench.svg into <paramref name="directory"/>.</summary>
    public static async Task WriteAllAsync(BenchReport report, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "bench.md"), Markdown(report), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "bench.json"), Json(report), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "bench.svg"), Svg(report), cancellationToken).ConfigureAwait(false);
    }
}
