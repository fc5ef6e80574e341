using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace Sandbox.Lifecycle.Tests;

/// <summary>Detached containers through the built CLI: survive the CLI, logs, wait, stop, pause, exec, errors, crashes.</summary>
public sealed class ContainerLifecycleTests : IClassFixture<Cli>
{
    private readonly Cli _cli;

    public ContainerLifecycleTests(Cli cli) => _cli = cli;

    private async Task<string> RunDetachedAsync(params string[] args) => (await _cli.OkAsync(["run", "-d", .. args])).Trim();

    private async Task<JsonElement> InspectAsync(string id)
    {
        using var doc = JsonDocument.Parse(await _cli.OkAsync("inspect", id));
        return doc.RootElement[0].Clone();
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task ADetachedSandboxSurvivesASigkilledCliAndLogsAreCompleteAndFollowed()
    {
        // The CLI that started it is SIGKILLed right after: the sandbox runs on under its owner.
        using (var p = _cli.Start("run", "-d", "--name", "survivor", "busybox", "sh", "-c",
                   "echo started; sleep 4; echo got it; echo to-stderr >&2; exit 3"))
        {
            var id = (await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)))!.Trim();
            p.Kill();
            Assert.Equal(12, id.Length);
        }
        await EventuallyAsync(async () => (await _cli.OkAsync("logs", "survivor")).Contains("started"), "the log never said started");
        Assert.Contains("survivor", await _cli.OkAsync("ps"));
        var record = await InspectAsync("survivor");
        Assert.Equal("Running", record.GetProperty("status").GetString());

        // logs -f follows until the sandbox ends.
        var follow = await _cli.RunAsync("logs", "-f", "-t", "survivor");
        Assert.Equal(0, follow.Code);
        Assert.Contains("started\n", follow.Stdout);
        Assert.Contains("got it\n", follow.Stdout);
        Assert.Contains("to-stderr", follow.Stderr);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z started", follow.Stdout);

        Assert.Equal("3", (await _cli.OkAsync("wait", "survivor")).Trim());
        var ps = await _cli.OkAsync("ps", "-a", "--filter", "name=survivor");
        Assert.Contains("Exited (3)", ps);
        var logs = await _cli.RunAsync("logs", "--tail", "2", "survivor"); // the last two lines, over both streams
        Assert.Equal("got it\n", logs.Stdout);
        Assert.Equal("to-stderr\n", logs.Stderr);
        var id2 = (await InspectAsync("survivor")).GetProperty("id").GetString()!;
        await _cli.OkAsync("rm", "survivor");
        _cli.AssertNothingLeft([id2]);
        await _cli.RefusedAsync("logs", "survivor");
    }

    /// <summary>Exited: no such pid, or a zombie (its parent has not reaped it yet).</summary>
    private static bool ProcessGone(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException) { return true; }
    }

    [Fact]
    public async Task RunDashDReapsBesideItsStartAndIsDoneBeforeItExits()
    {
        // A held --rm sandbox that ended leaves its directory, overlay and cgroups to the next command's reap; run -d
        // does that reap on another thread while it starts (docs/process-model.md, "run -d latency"), and must still
        // have finished it when it exits.
        var gone = await RunDetachedAsync("--rm", "busybox", "true");
        // Read without a command (any command would reap it): its init's pid from state.json, until that init is gone.
        using (var state = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_cli.RunDir, gone, "state.json"))))
        {
            var init = state.RootElement.GetProperty("initPid").GetInt32();
            await EventuallyAsync(() => Task.FromResult(ProcessGone(init)), "its init never exited");
        }
        Assert.True(Directory.Exists(Path.Combine(_cli.RunDir, gone)), "nothing was left for the next command to reap");
        var id = await RunDetachedAsync("busybox", "sleep", "60");
        Assert.False(Directory.Exists(Path.Combine(_cli.RunDir, gone)), "run -d exited before its reap had removed the last --rm run");
        _cli.AssertNothingLeft([gone]);
        Assert.Equal("Running", (await InspectAsync(id)).GetProperty("status").GetString());
        await _cli.OkAsync("rm", "-f", id);
        _cli.AssertNothingLeft([id]);
    }

    [Fact]
    public async Task WaitReturnsTheCodeAndRunDashDRmRemovesOnExit()
    {
        var id = await RunDetachedAsync("busybox", "sh", "-c", "sleep 0.5; exit 7");
        Assert.Equal("7", (await _cli.OkAsync("wait", id)).Trim());
        var gone = await RunDetachedAsync("--rm", "busybox", "sh", "-c", "sleep 0.3; exit 0");
        // Its init holds it and nothing of ours is left at its end: the next command removes it before it lists
        // anything, so ps -a never shows it exited (docs/process-model.md, "Init as the holder").
        await EventuallyAsync(async () => !(await _cli.OkAsync("ps", "-a", "-q", "--no-trunc")).Contains(gone), "run -d --rm left its sandbox");
        Assert.False(Directory.Exists(Path.Combine(_cli.RunDir, gone)), "ps -a did not show it, yet its directory is there");
        _cli.AssertNothingLeft([gone]);
        await _cli.OkAsync("rm", id);
    }

    [Fact]
    public async Task InitHoldsADetachedContainerWithNoHostDirectoryFdAndIsClosedToTheWorkload()
    {
        var id = await RunDetachedAsync("busybox", "sleep", "1000");
        var record = await InspectAsync(id);
        int init = record.GetProperty("initPid").GetInt32();
        // No owner process: init is the holder, and the record says so.
        Assert.True(record.GetProperty("heldByInit").GetBoolean());
        Assert.Equal(init, record.GetProperty("owner").GetProperty("pid").GetInt32());
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc").Select(d => Path.GetFileName(d)).Where(p => p.All(char.IsAsciiDigit)),
            p => { try { return File.ReadAllText($"/proc/{p}/cmdline").Contains("__owner\0" + id); } catch (IOException) { return false; } });
        // Init holds no directory of the host (CVE-2024-21626): every fd is a file, socket, pipe, eventfd or device.
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{init}/fd"))
        {
            var target = new FileInfo(fd).LinkTarget ?? "";
            Assert.False(target.StartsWith('/') && Directory.Exists(target) && !target.StartsWith("/dev/"), $"init holds the directory {target} as fd {Path.GetFileName(fd)}");
        }
        // Non-dumpable: the workload (root in the container, without CAP_SYS_PTRACE) cannot open /proc/1/fd.
        var probe = await _cli.OkAsync("exec", id, "sh", "-c",
            "readlink /proc/1/fd/0 || echo fd-closed; cat /proc/1/environ >/dev/null 2>&1 || echo environ-closed");
        Assert.Equal("fd-closed\nenviron-closed\n", probe);
        // Its exit is shown as soon as init let go, before any reaper ran.
        await _cli.OkAsync("kill", "-s", "TERM", id);
        Assert.Equal("143", (await _cli.OkAsync("wait", id)).Trim());
        var stopped = await InspectAsync(id);
        Assert.Equal(15, stopped.GetProperty("exitSignal").GetInt32());
        await _cli.OkAsync("rm", id);
        _cli.AssertNothingLeft([id]);
    }

    [Fact]
    public async Task StopEscalatesToSigkillAfterTheTimeout()
    {
        var id = await RunDetachedAsync("busybox", "sh", "-c", "trap 'echo ignoring TERM' TERM; echo ready; while :; do sleep 0.1; done");
        await EventuallyAsync(async () => (await _cli.OkAsync("logs", id)).Contains("ready"), "not ready");
        var sw = Stopwatch.StartNew();
        await _cli.OkAsync("stop", "-t", "2", id);
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(2), $"stop returned after {sw.Elapsed}");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"stop took {sw.Elapsed}");
        Assert.Equal("137", (await _cli.OkAsync("wait", id)).Trim());
        Assert.Contains("ignoring TERM", await _cli.OkAsync("logs", id));
        // A cooperative workload stops at SIGTERM, well before the timeout.
        var quick = await RunDetachedAsync("busybox", "sleep", "1000");
        sw.Restart();
        await _cli.OkAsync("stop", "-t", "20", quick);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"stop of a cooperative workload took {sw.Elapsed}");
        await _cli.OkAsync("rm", id, quick);
        _cli.AssertNothingLeft([id, quick]);
    }

    [Fact]
    public async Task PauseFreezesTheCounterAndUnpauseThawsIt()
    {
        var id = await RunDetachedAsync("busybox", "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done");
        await EventuallyAsync(async () => (await _cli.OkAsync("logs", id)).Length > 0, "counter silent");
        await _cli.OkAsync("pause", id);
        Assert.Contains("Paused", await _cli.OkAsync("ps"));
        await Task.Delay(300); // output in flight when the freeze landed
        var frozen = (await _cli.OkAsync("logs", id)).Length;
        await Task.Delay(1500);
        Assert.Equal(frozen, (await _cli.OkAsync("logs", id)).Length);
        Assert.Contains("already paused", await _cli.RefusedAsync("pause", id));
        await _cli.OkAsync("unpause", id);
        await EventuallyAsync(async () => (await _cli.OkAsync("logs", id)).Length > frozen, "counter did not resume");
        // rm -f of a paused sandbox: the SIGKILL is delivered (the group is thawed for it) and nothing is left.
        await _cli.OkAsync("pause", id);
        await _cli.OkAsync("rm", "-f", id);
        _cli.AssertNothingLeft([id]);
    }

    [Fact]
    public async Task ExecRunsInTheSandboxWithCodesEnvAndWorkdir()
    {
        var id = await RunDetachedAsync("-e", "FROM_RUN=1", "busybox", "sleep", "1000");
        var r = await _cli.RunAsync("exec", "-e", "X=y", "-w", "/tmp", id, "sh", "-c", "echo $X $FROM_RUN $(pwd) $(id -u); echo err >&2; exit 7");
        Assert.Equal((7, "y 1 /tmp 0\n", "err\n"), (r.Code, r.Stdout, r.Stderr));
        Assert.Equal(0, (await _cli.RunAsync("exec", id, "true")).Code);
        Assert.Equal(127, (await _cli.RunAsync("exec", id, "no-such-command")).Code);
        Assert.Equal(137, (await _cli.RunAsync("exec", id, "sh", "-c", "kill -9 $$")).Code);
        Assert.Equal("65534\n", (await _cli.RunAsync("exec", "-u", "65534", id, "id", "-u")).Stdout);
        // exec -d returns at once; the process runs on in the sandbox.
        await _cli.OkAsync("exec", "-d", id, "sh", "-c", "echo detached > /tmp/mark");
        await EventuallyAsync(async () => (await _cli.RunAsync("exec", id, "cat", "/tmp/mark")).Stdout == "detached\n", "exec -d did not run");
        // stdin with -i
        using (var p = _cli.Start("exec", "-i", id, "wc", "-l"))
        {
            await p.StandardInput.WriteAsync("a\nb\nc\n");
            p.StandardInput.Close();
            Assert.Equal("3", (await p.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30))).Trim());
        }
        await _cli.OkAsync("stop", "-t", "1", id);
        Assert.Contains("not running", await _cli.RefusedAsync("exec", id, "true"));
        await _cli.OkAsync("rm", id);
    }

    [Fact]
    public async Task BadRequestsAreOneLineExit125AndChangeNothing()
    {
        await _cli.RefusedAsync("stop", "no-such-sandbox");
        await _cli.RefusedAsync("exec", "no-such-sandbox", "true");
        // Creates until two ids share their first character: that prefix is ambiguous.
        var created = new List<string>();
        string? prefix = null;
        while (prefix is null)
        {
            created.Add((await _cli.OkAsync("create", "busybox", "true")).Trim());
            prefix = created.GroupBy(i => i[..1]).FirstOrDefault(g => g.Count() > 1)?.Key;
        }
        Assert.Contains("ambiguous", await _cli.RefusedAsync("rm", prefix));
        Assert.All(created, id => Assert.True(Directory.Exists(Path.Combine(_cli.RunDir, id))));
        Assert.Contains("Created", await _cli.OkAsync("ps", "-a", "--filter", "status=created"));

        var running = await RunDetachedAsync("--name", "busy", "busybox", "sleep", "1000");
        Assert.Contains("already in use", await _cli.RefusedAsync("run", "-d", "--name", "busy", "busybox", "true"));
        Assert.Contains("running", await _cli.RefusedAsync("rm", "busy"));
        Assert.Contains("already running", await _cli.RefusedAsync("start", running[..6]));
        await _cli.OkAsync("pause", "busy");
        Assert.Contains("already paused", await _cli.RefusedAsync("pause", "busy"));
        Assert.Equal("Paused", (await InspectAsync("busy")).GetProperty("status").GetString());
        await _cli.OkAsync("unpause", "busy");
        Assert.Equal("Running", (await InspectAsync(running)).GetProperty("status").GetString());

        // create + start: the created sandbox runs, prints to its log, and its code is kept.
        var later = (await _cli.OkAsync("create", "--name", "later", "busybox", "sh", "-c", "echo hello from later; exit 4")).Trim();
        var started = await _cli.RunAsync("start", "-a", "later");
        Assert.Equal((4, "hello from later\n"), (started.Code, started.Stdout));

        await _cli.OkAsync(["rm", "-f", "busy", "later", .. created]);
        _cli.AssertNothingLeft([running, later, .. created]);
    }

    [Fact]
    public async Task StartAttachOfAWorkloadThatEndsAtOnceAlwaysGivesItsOutputAndCode()
    {
        // The race behind a `start -a` that once failed with "the sandbox's owner hung up before answering": init ends
        // right while the CLI hands the sandbox over and connects to ctl.sock (before init reads Detach, between its
        // accept and its answer, or after it closed the listener). Several at once (each in its own store, so that
        // only this race is tested) make each window likely; every run must still print the workload's output and end
        // with its code, with nothing on stderr, and rm must find it stopped.
        var failures = new ConcurrentBag<string>();
        var stores = Enumerable.Range(0, 4).Select(_ => new Cli()).ToArray();
        try
        {
            await Task.WhenAll(stores.Select(async (cli, w) =>
            {
                var ids = new List<string>();
                for (int i = 0; i < 8; i++)
                {
                    bool quiet = i % 2 == 0;
                    string[] command = quiet ? ["true"] : ["sh", "-c", $"echo w{w}-{i}; exit 3"];
                    var id = (await cli.OkAsync(["create", "busybox", .. command])).Trim();
                    ids.Add(id);
                    var r = await cli.RunAsync("start", "-a", id);
                    var want = quiet ? (0, "", "") : (3, $"w{w}-{i}\n", "");
                    if ((r.Code, r.Stdout, r.Stderr) != want) failures.Add($"{string.Join(' ', command)}: exit {r.Code}, stdout '{r.Stdout}', stderr '{r.Stderr}'");
                }
                await cli.OkAsync(["rm", .. ids]);
                cli.AssertNothingLeft(ids);
            }));
            Assert.True(failures.IsEmpty, string.Join("\n", failures));
        }
        finally
        {
            foreach (var cli in stores) cli.Dispose();
        }
    }

    [Fact]
    public async Task AKilledOwnerShowsStoppedAndRmLeavesNothing()
    {
        var id = await RunDetachedAsync("busybox", "sleep", "1000");
        int owner = (await InspectAsync(id)).GetProperty("owner").GetProperty("pid").GetInt32();
        int init = (await InspectAsync(id)).GetProperty("initPid").GetInt32();
        Process.GetProcessById(owner).Kill();
        // init sees its control socket close and ends the sandbox; the next command records the truth.
        await EventuallyAsync(async () => (await _cli.OkAsync("ps", "-a", "-q", "--filter", "status=exited")).Contains(id), "not shown stopped");
        Assert.Contains("owner process died", (await InspectAsync(id)).GetProperty("error").GetString());
        await EventuallyAsync(() => Task.FromResult(!Directory.Exists($"/proc/{init}")), "init outlived its owner");
        await _cli.OkAsync("rm", id);
        _cli.AssertNothingLeft([id]);
    }

    [Fact]
    public async Task FiftyDetachedSandboxesShowInPsAndRmDashFLeavesNothing()
    {
        var ids = new List<string>();
        for (int i = 0; i < 50; i++) ids.Add(await RunDetachedAsync("--name", $"many-{i}", "busybox", "sleep", "1000"));
        var ps = (await _cli.OkAsync("ps", "-q", "--filter", "name=many-")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(ids.Order(), ps.Order());
        var json = (await _cli.OkAsync("ps", "--format", "json", "--filter", "name=many-")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(50, json.Length);
        Assert.All(json, l => Assert.Equal("Running", JsonDocument.Parse(l).RootElement.GetProperty("status").GetString()));
        await _cli.OkAsync(["rm", "-f", .. ids]);
        _cli.AssertNothingLeft(ids);
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(Path.Combine(_cli.Root, "names")), n => Path.GetFileName(n).StartsWith("many-"));
    }

    [Fact]
    public async Task ACliSigkilledAtAnyPhaseOfRunDashDLeavesATruthfulPsAndRmLeavesNothing()
    {
        foreach (var delay in new[] { 0, 30, 100, 300, 1000 })
        {
            using var p = _cli.Start("run", "-d", "--name", $"phase-{delay}", "busybox", "sleep", "1000");
            await Task.Delay(delay);
            try { p.Kill(); } catch (InvalidOperationException) { /* already exited */ }
            await p.WaitForExitAsync();
        }
        // Whatever phase each CLI died in, the next command shows each sandbox as it is, and rm -f / prune leave nothing.
        var ps = (await _cli.OkAsync("ps", "-a", "--format", "json", "--filter", "name=phase-")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var ids = ps.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!).ToList();
        foreach (var line in ps)
        {
            var status = JsonDocument.Parse(line).RootElement.GetProperty("status").GetString();
            Assert.Contains(status, new[] { "Created", "Running", "Stopped" });
        }
        if (ids.Count > 0) await _cli.OkAsync(["rm", "-f", .. ids]);
        await _cli.OkAsync("prune");
        _cli.AssertNothingLeft(ids);
        Assert.DoesNotContain(Directory.Exists(_cli.RunDir) ? Directory.EnumerateDirectories(_cli.RunDir) : [],
            d => File.Exists(Path.Combine(d, "state.json")) && File.ReadAllText(Path.Combine(d, "state.json")).Contains("phase-"));
    }
}
