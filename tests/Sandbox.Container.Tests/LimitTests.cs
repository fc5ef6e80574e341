using System.Diagnostics;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Container.Tests;

/// <summary>cgroup limits, on whatever cgroup version the host runs (v1 on these machines).</summary>
public sealed class LimitTests(ContainerFixture fx) : IClassFixture<ContainerFixture>
{
    [Fact]
    public async Task MemoryHogIsOomKilled()
    {
        var spec = ContainerFixture.Spec("sh", "-c", "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done") with { Limits = new ResourceLimits(MemoryBytes: 32 << 20) };
        var r = await fx.RunAsync(spec);
        Assert.True(r.Status.OomKilled, r.Status.ToString());
        Assert.Equal(9, r.Status.Signal);
        Assert.Equal(137, r.Status.ShellCode);
    }

    [Fact]
    public async Task ForkBombIsStoppedByThePidsLimit()
    {
        // Globbing /proc is a shell builtin: counting needs no fork once the limit is reached.
        var spec = ContainerFixture.Spec("sh", "-c", "(i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; set -- /proc/[0-9]*; echo $#") with
        {
            Limits = new ResourceLimits(Pids: 64),
        };
        var r = await fx.RunAsync(spec);
        Assert.True(int.TryParse(r.Stdout.Trim(), out int count), $"{r.Status}: {r.Stdout} / {r.Stderr}");
        Assert.InRange(count, 50, 64);
    }

    [Fact]
    public async Task CpuQuotaIsObserved()
    {
        var spec = ContainerFixture.Spec("sh", "-c", "while :; do :; done") with { Limits = new ResourceLimits(Cpus: 0.25) };
        await using var sandbox = await fx.Runtime.StartAsync(spec, SandboxStdio.Null);
        var before = (await sandbox.GetStatsAsync()).CpuTime;
        var wall = Stopwatch.StartNew();
        await Task.Delay(1500);
        var used = (await sandbox.GetStatsAsync()).CpuTime - before;
        wall.Stop();
        await sandbox.KillAsync();
        var status = await sandbox.WaitAsync();
        Assert.Equal(9, status.Signal);
        double ratio = used.TotalSeconds / wall.Elapsed.TotalSeconds;
        Assert.InRange(ratio, 0.10, 0.35);
    }
}
