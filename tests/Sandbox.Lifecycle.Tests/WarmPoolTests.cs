using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Sandbox.Interop.Libvirt;
using Xunit;

namespace Sandbox.Lifecycle.Tests;

/// <summary>
/// The warm pool through the built CLI (docs/microvm.md, "Warm pool"), in few boots (TCG is slow): a pooled run gives
/// a cold run's output; two pooled runs share no files or entropy; a member paused for 30 s starts with the host's
/// clock; drain and SIGKILL of a holder or of a run leave no domain. Only this class's own domains are looked at:
/// other test classes and developers boot VMs on the same libvirtd.
/// </summary>
public sealed class WarmPoolTests : IClassFixture<Cli>, IAsyncLifetime
{
    private readonly Cli _cli;

    public WarmPoolTests(Cli cli) => _cli = cli;

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Whatever a failed test left in the pool goes before the fixture removes the root (holders outlive it).</summary>
    public Task DisposeAsync() => _cli.RunAsync(TimeSpan.FromSeconds(120), "pool", "drain");

    private static HashSet<string> Domains()
    {
        var uri = Environment.GetEnvironmentVariable("SANDBOX_LIBVIRT_URI") is { Length: > 0 } u ? u : "qemu:///system";
        using var conn = LibvirtConnection.Open(uri);
        return conn.ListAllDomains().Select(d => { using (d) return d.Name; }).ToHashSet();
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(200);
        }
    }

    private async Task<string[]> FillAsync(int count)
    {
        var ids = (await _cli.RunAsync(TimeSpan.FromSeconds(240), "pool", "fill", "busybox", "--count", count.ToString(CultureInfo.InvariantCulture)))
            is var r && r.Code == 0 ? r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            : throw new Xunit.Sdk.XunitException($"pool fill exited {r.Code}: {r.Stderr}");
        Assert.Equal(count, ids.Length);
        return ids;
    }

    private async Task<List<JsonElement>> MembersAsync()
    {
        using var doc = JsonDocument.Parse(await _cli.OkAsync("pool", "ls", "--format", "json"));
        return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>A foreground run; its boot path from the raw timings line (the line itself is taken out of stderr).</summary>
    private async Task<(int Code, string Stdout, string Stderr, string Boot)> RunVmAsync(params string[] args)
    {
        using var p = _cli.Start(["run", "--vm", "--rm", "--timings-raw", .. args]);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        var lines = (await stderr).Split('\n');
        var timing = lines.Single(l => l.StartsWith("sandbox-timings ", StringComparison.Ordinal));
        var boot = timing.Split(' ').Single(f => f.StartsWith("boot=", StringComparison.Ordinal))["boot=".Length..];
        return (p.ExitCode, await stdout, string.Join('\n', lines.Where(l => l != timing)), boot);
    }

    [Fact]
    public async Task PooledRunsMatchColdRunsAndShareNothing()
    {
        var members = await FillAsync(3);
        var listed = await MembersAsync();
        Assert.Equal(members.Order(), listed.Select(m => m.GetProperty("id").GetString()!).Order());
        Assert.All(listed, m =>
        {
            Assert.Equal(128, m.GetProperty("memoryMiB").GetInt64());
            Assert.Equal(1, m.GetProperty("cpus").GetInt32());
            Assert.Equal("paused", m.GetProperty("state").GetString());
            Assert.True(m.GetProperty("pssBytes").GetInt64() > 0);
        });
        Assert.Subset(Domains(), members.Select(id => $"sandbox-{id}").ToHashSet());

        // Same output warm and cold: id, env, working directory, hostname (applied at Start), exit code.
        string[] probe = ["--hostname", "probe-host", "-e", "X=from-start", "-w", "/tmp", "-u", "1000:1000", "busybox",
            "sh", "-c", "id; echo $X; pwd; hostname; exit 3"];
        var warm = await RunVmAsync(probe);
        Assert.Equal("warm", warm.Boot);
        // A different --memory: no member has that shape, so this one boots cold (the limit is invisible to the probe).
        var cold = await RunVmAsync(["--memory", "96m", .. probe]);
        Assert.Equal("cold", cold.Boot);
        Assert.Equal(3, warm.Code);
        Assert.StartsWith("uid=1000 gid=1000", warm.Stdout);
        Assert.EndsWith("\nfrom-start\n/tmp\nprobe-host\n", warm.Stdout);
        Assert.Equal((cold.Code, cold.Stdout, cold.Stderr), (warm.Code, warm.Stdout, warm.Stderr));

        // Two pooled runs: a file written in one is absent in the next; boot id and random bytes differ.
        string[] isolation = ["busybox", "sh", "-c",
            "test -e /marker && echo seen; echo x > /marker; cat /proc/sys/kernel/random/boot_id; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo"];
        var first = await RunVmAsync(isolation);
        Assert.Equal(("warm", 0), (first.Boot, first.Code));
        // The second through the lifecycle path (run -d): inspect says where its guest came from.
        var id = (await _cli.OkAsync(["run", "-d", "--vm", .. isolation])).Trim();
        Assert.Equal("0", (await _cli.OkAsync("wait", id)).Trim());
        using (var doc = JsonDocument.Parse(await _cli.OkAsync("inspect", id)))
            Assert.Equal("warm", doc.RootElement[0].GetProperty("boot").GetString());
        var second = await _cli.OkAsync("logs", id);
        Assert.DoesNotContain("seen", first.Stdout + second);
        var (a, b) = (first.Stdout.Split('\n'), second.Split('\n'));
        Assert.NotEqual(a[0], b[0]);
        Assert.NotEqual(a[1], b[1]);
        await _cli.OkAsync("rm", id);

        Assert.Empty(await MembersAsync());
        await EventuallyAsync(() => Task.FromResult(!Domains().Overlaps(members.Select(m => $"sandbox-{m}"))), "a member's domain outlived its run");
        _cli.AssertNothingLeft([.. members, id]);
    }

    /// <summary>
    /// A member's workload init is started at boot and waits for its spec (GuestWorkloadInit.Prespawn): the run's limits
    /// still apply (written at Start), and a run whose namespaces differ (--privileged: the guest's cgroup tree) gets a
    /// workload init of its own.
    /// </summary>
    [Fact]
    public async Task APrespawnedWorkloadInitTakesTheRunsLimitsAndAPrivilegedRunGetsItsOwn()
    {
        var members = await FillAsync(2);
        var limited = await RunVmAsync("--pids-limit", "5", "busybox", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait; echo done");
        Assert.Equal("warm", limited.Boot);
        Assert.Contains("can't fork", limited.Stderr);
        var privileged = await RunVmAsync("--privileged", "busybox", "cat", "/proc/self/cgroup");
        Assert.Equal(("warm", 0, "0::/workload\n"), (privileged.Boot, privileged.Code, privileged.Stdout));
        Assert.Empty(await MembersAsync());
        await EventuallyAsync(() => Task.FromResult(!Domains().Overlaps(members.Select(m => $"sandbox-{m}"))), "a member's domain outlived its run");
        _cli.AssertNothingLeft(members);
    }

    [Fact]
    public async Task AMemberPausedFor30sStartsWithTheHostClockAndNothingLeaks()
    {
        var members = await FillAsync(3);
        await Task.Delay(TimeSpan.FromSeconds(30));

        // The clock: set at Start from the host's (the guest's own stood still while paused).
        double before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var run = await RunVmAsync("busybox", "date", "+%s");
        double after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        Assert.Equal(("warm", 0), (run.Boot, run.Code));
        long guest = long.Parse(run.Stdout.Trim(), CultureInfo.InvariantCulture);
        // date prints whole seconds: within 1 s of the host's clock over the run's span.
        Assert.InRange(guest, Math.Floor(before) - 1, Math.Ceiling(after) + 1);

        var left = (await MembersAsync()).ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("holderPid").GetInt32());
        Assert.Equal(2, left.Count);
        var (killedHolder, claimed) = (left.Keys.First(), left.Keys.Last());

        // SIGKILL of a holder: its paused domain goes at the next command at the latest.
        using (var holder = Process.GetProcessById(left[killedHolder]))
        {
            holder.Kill();
            await holder.WaitForExitAsync();
        }
        // The next command (here pool ls) reaps the dead holder's directory and its domain.
        await EventuallyAsync(async () => (await MembersAsync()).All(m => m.GetProperty("id").GetString() != killedHolder), "dead holder still listed");
        await EventuallyAsync(() => Task.FromResult(!Domains().Contains($"sandbox-{killedHolder}")), "a killed holder's domain leaked");

        // SIGKILL of the run that took a member: the guest loses its host and ends.
        using (var p = _cli.Start("run", "--vm", "busybox", "sleep", "600"))
        {
            await EventuallyAsync(() => Task.FromResult(!Directory.Exists(Path.Combine(_cli.RunDir, claimed))), "member not taken");
            Assert.Contains($"sandbox-{claimed}", Domains());
            await Task.Delay(1000);
            p.Kill();
            await p.WaitForExitAsync();
        }
        await EventuallyAsync(() => Task.FromResult(!Domains().Contains($"sandbox-{claimed}")), "a killed run's warm domain leaked");

        // drain: the members go, their holders and directories too.
        var drained = await FillAsync(1);
        Assert.Equal(drained[0], (await _cli.OkAsync("pool", "drain", "busybox")).Trim());
        Assert.Empty(await MembersAsync());
        Assert.DoesNotContain($"sandbox-{drained[0]}", Domains());
        await _cli.OkAsync("prune");
        _cli.AssertNothingLeft([.. members, .. drained]);
        Assert.Empty(Directory.Exists(_cli.RunDir) ? Directory.EnumerateDirectories(_cli.RunDir) : []);
    }
}
