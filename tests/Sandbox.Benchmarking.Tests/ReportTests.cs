using System.Text.Json;
using System.Xml.Linq;
using Sandbox.Benchmarking;

namespace Sandbox.Benchmarking.Tests;

public class ReportTests
{
    [Fact]
    public void PercentilesInterpolateBetweenRanks()
    {
        var d = Distribution.Of([10, 20, 30, 40, 50, null])!;
        Assert.Equal(5, d.Count);
        Assert.Equal(30, d.Median);
        Assert.Equal(14, d.P10, 6);
        Assert.Equal(46, d.P90, 6);
        Assert.Equal(10, d.Min);
        Assert.Equal(50, d.Max);
        Assert.Null(Distribution.Of([null, null]));
        Assert.Equal(7, Distribution.Of([7])!.P90);
    }

    private static BenchReport Sample() => new()
    {
        Date = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero),
        CommandLine = "sandbox bench busybox --runs 2",
        Machine = new MachineInfo("6.1", "cpu <x> & co", 2, 24L << 30),
        Image = "busybox",
        Runs = 2,
        Subjects =
        [
            new SubjectSummary("sandbox (container)", "cli", null, Distribution.Of([5, 6]), Distribution.Of([7, 8]), Distribution.Of([20, 22]), null, 0, null),
            new SubjectSummary("runc run", "runc", null, null, null, Distribution.Of([60, 70]), null, 1, "boom"),
        ],
        BootSamples = [new BootSample("runc run", 0, null, null, 60, null, null)],
        Footprints = [new FootprintSample("runc run", 1 << 20, 8 << 20, null, "pss")],
        Density = [new DensitySample("runc run", 10, 10, 1L << 30, 100L << 20, 2.0, null) { PssBytes = 90L << 20 }],
        Notes = ["qemu (stock kernel): not measured: kernel not found"],
    };

    [Fact]
    public void MarkdownHasOneRowPerSubjectAndTheNotes()
    {
        var md = ReportWriter.Markdown(Sample());
        Assert.Contains("| sandbox (container) | - | 5.5 [5.1–5.9] 5.0–6.0 | 7.5 [7.1–7.9] 7.0–8.0 | 21.0 [20.2–21.8] 20.0–22.0 | - | 0 |", md);
        Assert.Contains("| runc run | 1.0 MiB | 8.0 MiB | 9.0 MiB | - | pss |", md);
        Assert.Contains("| runc run | 10 | 10 | 90.0 MiB | 9.0 MiB | 100.0 MiB | 10.0 MiB | 5.0/s | 102 in 1024.0 MiB | - |", md);
        Assert.Contains("runc run: 1 failed runs; first error: boom", md);
        Assert.Contains("not measured: kernel not found", md);
    }

    [Fact]
    public void JsonKeepsEverySample()
    {
        using var doc = JsonDocument.Parse(ReportWriter.Json(Sample()));
        Assert.Equal(1, doc.RootElement.GetProperty("bootSamples").GetArrayLength());
        Assert.Equal(20, doc.RootElement.GetProperty("subjects")[0].GetProperty("exit").GetProperty("min").GetDouble());
    }

    [Fact]
    public void SvgIsWellFormedAndEscaped()
    {
        var svg = XDocument.Parse(ReportWriter.Svg(Sample()));
        var texts = svg.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToArray();
        Assert.Contains("sandbox (container)", texts);
        Assert.Contains("runc run", texts);
    }
}
