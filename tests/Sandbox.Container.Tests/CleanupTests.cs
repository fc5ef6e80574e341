using System.Diagnostics;
using Sandbox.Container.Cgroups;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Container.Tests;

/// <summary>Nothing outlives a sandbox: mounts, cgroups, processes, directories — after normal exits, errors and crashes.</summary>
public sealed class CleanupTests(ContainerFixture fx) : IClassFixture<ContainerFixture>
{
    private void AssertNothingLeft(IEnumerable<string> ids, IEnumerable<int> initPids)
    {
        var mountinfo = File.ReadAllText("/proc/self/mountinfo");
        Assert.DoesNotContain(fx.Root, mountinfo);
        Assert.False(Directory.Exists(fx.Paths.Run) && Directory.EnumerateFileSystemEntries(fx.Paths.Run).Any(),
            "run directory not empty: " + (Directory.Exists(fx.Paths.Run) ? string.Join(",", Directory.EnumerateFileSystemEntries(fx.Paths.Run)) : ""));
        foreach (var id in ids)
            Assert.All(Cgroup.For(id).Paths(), p => Assert.False(Directory.Exists(p), $"cgroup {p} left"));
        foreach (var pid in initPids)
            Assert.False(Directory.Exists($"/proc/{pid}") && File.ReadAllText($"/proc/{pid}/cmdline").Contains("sandbox-init"), $"sandbox-init {pid} left");
    }

    [Fact]
    public async Task TwoHundredSequentialRunsLeaveNothingBehind()
    {
        var ids = new List<string>();
        var pids = new List<int>();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 200; i++)
        {
            var spec = ContainerFixture.Spec("sh", "-c", "sleep 5 & echo $((1+1))") with { Limits = new ResourceLimits(MemoryBytes: 64 << 20, Pids: 32) };
            var r = await fx.RunAsync(spec);
            Assert.Equal(0, r.Status.Code);
            Assert.Equal("2\n", r.Stdout);
            ids.Add(r.Sandbox.Id);
            pids.Add(((ContainerSandbox)r.Sandbox).InitPid);
        }
        AssertNothingLeft(ids, pids);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(90), $"200 runs took {sw.Elapsed}");
    }

    [Fact]
    public async Task TwentyConcurrentRunsLeaveNothingBehind()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            fx.RunAsync(ContainerFixture.Spec("sh", "-c", $"echo run-{i}; sleep 0.2") with { Limits = new ResourceLimits(Pids: 16) })));
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(0, results[i].Status.Code);
            Assert.Equal($"run-{i}\n", results[i].Stdout);
        }
        AssertNothingLeft(results.Select(r => r.Sandbox.Id), results.Select(r => ((ContainerSandbox)r.Sandbox).InitPid));
    }

    [Fact]
    public async Task FailedStartsLeaveNothingBehind()
    {
        var ids = new List<string>();
        await Assert.ThrowsAsync<SandboxException>(() => fx.RunAsync("no-such-command"));
        await Assert.ThrowsAsync<SandboxException>(() => fx.RunAsync(ContainerFixture.Spec("true") with { User = "mallory" }));
        await Assert.ThrowsAsync<SandboxException>(() => fx.RunAsync(ContainerFixture.Spec("true") with { Image = "no-such-image" }));
        AssertNothingLeft(ids, []);
    }

    [Fact]
    public async Task KillEndsEverySandboxProcess()
    {
        await using var sandbox = (ContainerSandbox)await fx.Runtime.StartAsync(ContainerFixture.Spec("sh", "-c", "sleep 100 & sleep 100"), SandboxStdio.Null);
        await sandbox.KillAsync();
        var status = await sandbox.WaitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(9, status.Signal);
        var id = sandbox.Id;
        int pid = sandbox.InitPid;
        await sandbox.DisposeAsync();
        AssertNothingLeft([id], [pid]);
    }

    /// <summary>The `sandbox` CLI killed with SIGKILL: init ends the sandbox, the next run reaps the rest.</summary>
    [Fact]
    public async Task ACliKilledWithSigkillIsReapedByTheNextCommand()
    {
        var cli = CliPath();
        var psi = new ProcessStartInfo(cli, ["run", "--rm", "busybox", "sleep", "100"]) { RedirectStandardError = true };
        psi.Environment["SANDBOX_ROOT"] = fx.Root;
        psi.Environment["SANDBOX_INIT"] = ContainerFixture.InitPath;
        using var process = Process.Start(psi)!;
        // Wait until the sandbox is running (its cgroup holds sleep).
        string? id = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (id is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            if (Directory.Exists(fx.Paths.Run))
                id = Directory.EnumerateDirectories(fx.Paths.Run).Select(Path.GetFileName).FirstOrDefault(d => !d!.StartsWith('.'));
        }
        Assert.NotNull(id);
        await Task.Delay(300);
        process.Kill(); // SIGKILL
        await process.WaitForExitAsync();
        Assert.True(Directory.Exists(Path.Combine(fx.Paths.Run, id!)), "the crashed run's state should still be there");

        // init saw the host end of its socket close and took the sandbox down with it.
        var procs = Cgroup.For(id!).Paths().Select(p => Path.Combine(p, "cgroup.procs")).Where(File.Exists).ToArray();
        var until = DateTime.UtcNow.AddSeconds(5);
        while (procs.Any(p => File.ReadAllText(p).Trim().Length > 0) && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.All(procs, p => Assert.Equal("", File.ReadAllText(p).Trim()));

        // The next lifecycle command reaps it: a --rm run whose owner (the CLI) died is removed whole.
        var ps = new ProcessStartInfo(cli, ["ps", "-a", "-q"]) { RedirectStandardOutput = true };
        ps.Environment["SANDBOX_ROOT"] = fx.Root;
        using (var next = Process.Start(ps)!)
        {
            var listed = await next.StandardOutput.ReadToEndAsync();
            await next.WaitForExitAsync();
            Assert.Equal(0, next.ExitCode);
            Assert.DoesNotContain(id!, listed);
        }
        AssertNothingLeft([id!], []);
    }

    internal static string CliPath()
    {
        if (Environment.GetEnvironmentVariable("SANDBOX_CLI") is { Length: > 0 } p) return p;
        var init = ContainerFixture.InitPath;
        var cli = Path.Combine(Path.GetDirectoryName(init)!, "sandbox");
        if (!File.Exists(cli)) throw new InvalidOperationException($"the sandbox CLI is not built ({cli}): run scripts/build.sh or set SANDBOX_CLI");
        return cli;
    }
}
