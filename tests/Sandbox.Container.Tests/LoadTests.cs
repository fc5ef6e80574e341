using System.Diagnostics;
using Sandbox.Container.Cgroups;
using Sandbox.Core;
using Xunit;
using Xunit.Abstractions;

namespace Sandbox.Container.Tests;

/// <summary>Many containers at once (issue 13): 200 idle ones start, all stop and are removed, nothing is left.</summary>
public sealed class LoadTests(ContainerFixture fx, ITestOutputHelper output) : IClassFixture<ContainerFixture>
{
    [Fact]
    public async Task Two_hundred_idle_containers_at_once_leave_nothing()
    {
        const int count = 200;
        var sw = Stopwatch.StartNew();
        var starts = Enumerable.Range(0, count)
            .Select(_ => Task.Run(() => fx.Runtime.StartAsync(ContainerFixture.Spec("sleep", "600"), SandboxStdio.Null)))
            .ToArray();
        var sandboxes = new List<ISandbox>();
        var errors = new List<string>();
        foreach (var t in starts)
        {
            try { sandboxes.Add(await t.WaitAsync(TimeSpan.FromMinutes(5))); }
            catch (Exception e) { errors.Add(e.Message); }
        }
        var allStarted = sw.Elapsed;
        var ids = sandboxes.Select(s => s.Id).ToArray();
        var groups = sandboxes.OfType<ContainerSandbox>().SelectMany(s => s.Cgroup!.Paths()).ToArray();
        try
        {
            Assert.True(errors.Count == 0, $"{errors.Count} of {count} failed to start; first: {errors.FirstOrDefault()}");
            Assert.All(groups, g => Assert.True(Directory.Exists(g), g));
        }
        finally
        {
            await Task.WhenAll(sandboxes.Select(async s =>
            {
                await s.KillAsync();
                await s.WaitAsync().WaitAsync(TimeSpan.FromMinutes(2));
                await s.DisposeAsync();
            }));
        }
        output.WriteLine($"{count} containers: all started after {allStarted.TotalSeconds:0.0} s, all removed after {sw.Elapsed.TotalSeconds:0.0} s");
        Assert.All(groups, g => Assert.False(Directory.Exists(g), g));
        Assert.False(Directory.Exists(fx.Paths.Run) && Directory.EnumerateFileSystemEntries(fx.Paths.Run).Any(),
            "run directories left: " + (Directory.Exists(fx.Paths.Run) ? string.Join(", ", Directory.EnumerateFileSystemEntries(fx.Paths.Run).Take(5)) : ""));
        Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), l => l.Contains(fx.Root, StringComparison.Ordinal));
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc").Select(Path.GetFileName),
            p => int.TryParse(p, out _) && ReadCmdline(p!).Contains(fx.Root, StringComparison.Ordinal));
        Assert.Equal(count, ids.Distinct().Count());
    }

    private static string ReadCmdline(string pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline"); } catch (IOException) { return ""; }
    }
}
