using System.Diagnostics;
using System.Text;
using Sandbox.Core;
using Xunit;

namespace Sandbox.Container.Tests;

/// <summary>
/// The published `sandbox` binary end to end, with the real image store (built-in busybox): inherited stdio, exit
/// codes, the OOM line, signal forwarding, and -t through a real pseudo-terminal (util-linux `script`).
/// </summary>
public sealed class CliTests : IDisposable
{
    private readonly string _root;

    public CliTests()
    {
        _root = Path.Combine(Path.GetTempPath(), $"sandbox-cli-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_root);
        File.SetUnixFileMode(_root, (UnixFileMode)0x1ed);
    }

    private Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SANDBOX_ROOT"] = _root;
        psi.Environment["SANDBOX_INIT"] = ContainerFixture.InitPath;
        return Process.Start(psi)!;
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunCli(string? stdin, params string[] args)
    {
        using var p = Start(CleanupTests.CliPath(), args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task RunEchoesAndPassesExitCodes()
    {
        var hello = await RunCli(null, "run", "--rm", "busybox", "echo", "hello");
        Assert.Equal((0, "hello\n"), (hello.Code, hello.Stdout));
        Assert.Equal(7, (await RunCli(null, "run", "--rm", "busybox", "sh", "-c", "exit 7")).Code);
        var missing = await RunCli(null, "run", "--rm", "busybox", "no-such-command");
        Assert.Equal(127, missing.Code);
        Assert.Contains("no-such-command", missing.Stderr);
        Assert.Equal(126, (await RunCli(null, "run", "--rm", "busybox", "/etc/passwd")).Code);
        var bad = await RunCli(null, "run", "--rm", "-v", "/no/such:/x", "busybox", "true");
        Assert.Equal(125, bad.Code);
        Assert.Single(bad.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task InteractiveStdinIsPassedThrough()
    {
        var r = await RunCli("one\ntwo\n", "run", "--rm", "-i", "busybox", "wc", "-l");
        Assert.Equal("2", r.Stdout.Trim());
        var closed = await RunCli("ignored\n", "run", "--rm", "busybox", "wc", "-l");
        Assert.Equal("0", closed.Stdout.Trim());
    }

    [Fact]
    public async Task OomKillIsReportedOnOneLineWith137()
    {
        var r = await RunCli(null, "run", "--rm", "--memory", "32m", "busybox", "sh", "-c", "x=aaaaaaaa; while :; do x=$x$x; done");
        Assert.Equal(137, r.Code);
        Assert.Contains("out of memory", r.Stderr);
    }

    [Fact]
    public async Task SigtermToTheCliReachesTheWorkload()
    {
        using var p = Start(CleanupTests.CliPath(), "run", "--rm", "busybox", "sh", "-c", "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done");
        var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("ready", line);
        Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
        var rest = await p.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await p.WaitForExitAsync();
        Assert.Equal("got-term\n", rest);
        Assert.Equal(42, p.ExitCode);
    }

    [Fact]
    public async Task TtyGivesAPtyInsideTheSandbox()
    {
        Assert.True(File.Exists("/usr/bin/script"), "util-linux 'script' is needed to give the CLI a terminal");
        var cli = CleanupTests.CliPath();
        using var p = Start("/usr/bin/script", "-qec", $"stty rows 33 cols 101; {cli} run --rm -t busybox sh -c 'tty; stty size; ls -l /dev/console'", "/dev/null");
        var stdout = await p.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("/dev/pts/0\r\n", stdout);
        Assert.Contains("33 101\r\n", stdout);
        Assert.Matches("c.* 136, +0 .*/dev/console", stdout);
    }

    /// <summary>
    /// Two `sandbox run busybox` racing on a fresh store both build the built-in image on first use: they must end
    /// with one image and one digest (the build is serialised by a lock, and its bytes never depend on the building
    /// process: a PAX tar header once carried its pid), and a third process on another fresh store gets that digest too.
    /// </summary>
    [Fact]
    public async Task Racing_first_runs_on_a_fresh_store_build_busybox_once_with_one_digest()
    {
        // run -d: its create resolves the image, and the record keeps the digest it ran.
        var runs = await Task.WhenAll(new[] { "first", "second" }.Select(n => RunCli(null, "run", "-d", "--name", n, "busybox", "true")));
        Assert.All(runs, r => Assert.True(r.Code == 0, r.Stderr));
        Assert.Equal(0, (await RunCli(null, "wait", "first", "second")).Code);
        var digests = new List<string>();
        foreach (var n in new[] { "first", "second" })
        {
            var inspect = await RunCli(null, "inspect", n);
            Assert.True(inspect.Code == 0, inspect.Stderr);
            using var doc = System.Text.Json.JsonDocument.Parse(inspect.Stdout);
            var record = doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Array ? doc.RootElement[0] : doc.RootElement;
            digests.Add(record.GetProperty("imageDigest").GetString()!);
        }
        Assert.Equal(0, (await RunCli(null, "rm", "first", "second")).Code);
        Assert.Equal(digests[0], digests[1]);
        Assert.Equal([digests[0]], await ImageDigests(_root));
        // Layer, config, manifest: no second build's blobs beside them.
        Assert.Equal(3, Directory.GetFiles(Path.Combine(_root, "images", "blobs", "sha256")).Length);

        var other = Path.Combine(Path.GetTempPath(), $"sandbox-cli-test-{Guid.NewGuid():N}");
        try
        {
            var psi = new ProcessStartInfo(CleanupTests.CliPath(), ["--root", other, "run", "--rm", "busybox", "true"]) { RedirectStandardError = true };
            psi.Environment["SANDBOX_INIT"] = ContainerFixture.InitPath;
            using (var p = Process.Start(psi)!)
            {
                var err = await p.StandardError.ReadToEndAsync();
                await p.WaitForExitAsync();
                Assert.True(p.ExitCode == 0, err);
            }
            Assert.Equal([digests[0]], await ImageDigests(other));
        }
        finally { try { Directory.Delete(other, true); } catch (IOException) { } }
    }

    private static async Task<string[]> ImageDigests(string root)
    {
        var psi = new ProcessStartInfo(CleanupTests.CliPath(), ["--root", root, "images", "--format", "json"]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        return doc.RootElement.EnumerateArray().Select(i => i.GetProperty("digest").GetString()!).ToArray();
    }

    public void Dispose()
    {
        var run = Path.Combine(_root, "run");
        bool leftovers = Directory.Exists(run) && Directory.EnumerateFileSystemEntries(run).Any();
        try { Directory.Delete(_root, true); } catch (IOException) { }
        Assert.False(leftovers, "a CLI run left state behind");
    }
}
